// Edit and branch on the page: the ‹ 2/3 › arrows of a message with siblings, and the
// box that edits a user message in place (meta.js puts both under a message). Text goes in as textContent.

import { button, element } from "./dom.js";

// The arrows of `branch` ({index, count, sibling_ids}): each switches to the sibling.
export function branchArrows(branch, onSwitch) {
  const nav = element("span", "branch");
  nav.setAttribute("aria-label", "Versions of this message");
  const previous = button("branch-previous", "‹", () => onSwitch(branch.sibling_ids[branch.index - 1]));
  const next = button("branch-next", "›", () => onSwitch(branch.sibling_ids[branch.index + 1]));
  previous.disabled = branch.index === 0;
  next.disabled = branch.index === branch.count - 1;
  previous.setAttribute("aria-label", "Previous version");
  next.setAttribute("aria-label", "Next version");
  nav.append(previous, element("span", "branch-position", `${branch.index + 1}/${branch.count}`), next);
  return nav;
}

// Edit a user message where it stands: Save sends the new text, Cancel puts it back.
export function editBox(node, onEdit) {
  const body = node.querySelector(".body");
  const meta = node.querySelector(".meta");
  const box = element("div", "editing");
  const input = element("textarea", "edit-input");
  input.value = body.textContent;
  input.setAttribute("aria-label", "Edit message");
  const close = () => {
    box.remove();
    body.hidden = false;
    meta.hidden = false;
  };
  const save = () => {
    const text = input.value;
    if (!text.trim()) return;
    close();
    onEdit(text);
  };
  input.onkeydown = (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      save();
    }
    if (event.key === "Escape") close();
  };
  const choices = element("div", "choices");
  choices.append(button("save", "Save", save), button("cancel", "Cancel", close));
  box.append(input, choices);
  body.hidden = true;
  meta.hidden = true;
  node.append(box);
  input.focus();
}
