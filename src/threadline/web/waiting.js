// What a run waits on, in the conversation: a tool call to approve or deny, or the graph's
// question (LangGraph's `interrupt`) with a box to answer it. Text goes in as textContent.

import { button, element } from "./dom.js";

export function preview(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 400 ? `${text.slice(0, 399)}…` : text;
}

// A typed answer: text to a question asked in words; else JSON if it parses as JSON.
function answerOf(text, asked) {
  if (typeof asked === "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// Fills `node` with the tool call `frame` and its Approve and Deny.
export function approvalBox(node, frame, onDecide) {
  node.append(element("p", "", `${frame.name} wants to run with:`), element("pre", "args", preview(frame.args)));
  if (frame.description) node.append(element("p", "description", frame.description));
  const decide = (type) => () => {
    node.remove();
    onDecide(type, frame.tool_call_id);
  };
  const choices = element("div", "choices");
  choices.append(button("approve", "Approve", decide("approve")), button("deny", "Deny", decide("deny")));
  node.append(choices);
}

// Fills `node` with the question `frame` asks; returns the answer's input.
export function questionBox(node, frame, { onRespond, onCancel }) {
  const asked = typeof frame.value === "string"
    ? element("p", "asked", frame.value)
    : element("pre", "asked", JSON.stringify(frame.value, null, 2));
  const input = element("input", "answer");
  input.placeholder = "Your answer";
  input.setAttribute("aria-label", "Your answer");
  const answer = () => {
    if (!input.value.trim()) return;
    node.remove();
    onRespond(frame.interrupt_id, answerOf(input.value, frame.value));
  };
  input.onkeydown = (event) => {
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      answer();
    }
  };
  const cancel = () => {
    node.remove();
    onCancel(frame.interrupt_id);
  };
  const choices = element("div", "choices");
  choices.append(button("respond", "Answer", answer), button("cancel", "Cancel", cancel));
  node.append(asked, input, choices);
  return input;
}
