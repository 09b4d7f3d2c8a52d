// The line under a message: when it was written, Copy, and for a user message Edit, for
// a reply its rating and sources; either's ‹ 2/3 › arrows. Text goes in as textContent.

import { branchArrows, editBox } from "./branches.js";
import { button, element } from "./dom.js";

const SAME_DAY = { hour: "2-digit", minute: "2-digit" };
const OTHER_DAY = { dateStyle: "medium", timeStyle: "short" };
const FULL = { dateStyle: "full", timeStyle: "long" };

// When a message was written (ISO 8601), in the reader's local time; the full date on hover.
export function timestamp(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return element("span");
  const today = when.toDateString() === new Date().toDateString();
  const node = element("time", "time", when.toLocaleString(undefined, today ? SAME_DAY : OTHER_DAY));
  node.dateTime = when.toISOString();
  node.title = when.toLocaleString(undefined, FULL);
  return node;
}

// Copies what `text()` gives to the clipboard, and says so on the button for a moment.
export function copyButton(text) {
  const copy = button("copy", "Copy", async () => {
    try {
      await navigator.clipboard.writeText(text());
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Not copied"; // no clipboard: a page not served over HTTPS
    }
    setTimeout(() => { copy.textContent = "Copy"; }, 1500);
  });
  copy.title = "Copy the message's text";
  return copy;
}

// The meta line under a user message: its time, its arrows if it has siblings, Edit, Copy.
export function userMeta(node, { branch, onSwitch, onEdit }) {
  node.querySelector(".meta")?.remove();
  const meta = element("div", "meta");
  meta.append(timestamp(node.dataset.createdAt));
  if (branch) meta.append(branchArrows(branch, onSwitch));
  meta.append(
    button("edit", "Edit", () => editBox(node, onEdit)),
    copyButton(() => node.querySelector(".body").textContent),
  );
  node.append(meta);
}

// The meta line under a reply: its time, rating, arrows, Copy (its Markdown), sources.
export function replyMeta(frame, { createdAt, text, onFeedback, onSwitch }) {
  const meta = element("div", "meta");
  meta.append(timestamp(createdAt), ratings(frame.message_id, onFeedback));
  if (frame.branch) meta.append(branchArrows(frame.branch, onSwitch));
  if (frame.stopped) meta.append(element("span", "badge", "stopped"));
  meta.append(copyButton(text));
  if (frame.citations?.length) {
    const sources = element("ol", "citations");
    for (const citation of frame.citations) {
      const source = element("li");
      const details = element("details");
      details.append(element("summary", "", citation.title), element("p", "", citation.text));
      source.append(details);
      sources.append(source);
    }
    meta.append(sources);
  }
  return meta;
}

// Thumbs up and down: pressing the pressed one again takes the rating back.
function ratings(messageId, onFeedback) {
  const group = element("span", "ratings");
  for (const [rating, label, text] of [["up", "Good reply", "👍"], ["down", "Bad reply", "👎"]]) {
    const choice = button(`rate ${rating}`, text, () => {
      const pressed = choice.getAttribute("aria-pressed") === "true";
      onFeedback(messageId, pressed ? null : rating);
    });
    choice.setAttribute("aria-label", label);
    choice.dataset.rating = rating;
    group.append(choice);
  }
  return group;
}

// The rating stored for a reply (a `feedback` frame, or history), shown as pressed.
export function rated(node, rating) {
  for (const choice of node.querySelectorAll(".rate")) {
    choice.setAttribute("aria-pressed", String(choice.dataset.rating === rating));
  }
}
