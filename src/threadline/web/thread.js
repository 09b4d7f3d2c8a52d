// The open conversation: its messages, the reply streaming into it, tool calls,
// what the run waits on (waiting.js), and under each message its meta line (meta.js).
// Text from the server is set with textContent, except a reply's Markdown, which
// renderMarkdown escapes before it formats.

import { button, element } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { rated, replyMeta, userMeta } from "./meta.js";
import { approvalBox, preview, questionBox } from "./waiting.js";

export class Thread {
  constructor(list, { onDecide, onRespond, onCancel, onRegenerate, onFeedback, onEdit, onSwitch }) {
    this.list = list;
    this.onFeedback = onFeedback;
    this.onEdit = onEdit;
    this.onSwitch = onSwitch;
    this.onDecide = onDecide;
    this.onRespond = onRespond;
    this.onCancel = onCancel;
    this.onRegenerate = onRegenerate;
    this.clear();
  }

  clear() {
    this.list.replaceChildren();
    this.items = new Map(); // message_id -> {node, text, seq}
    this.lastStored = null; // the newest message id known to be stored
    this.renderQueued = new Set();
  }

  get empty() {
    return this.items.size === 0 && this.list.children.length === 0;
  }

  // A message the user typed, shown at once; `stored()` gives it its id after the ack.
  pending(text, clientId, image) {
    const node = this.bubble("user", text);
    node.dataset.createdAt = new Date().toISOString(); // history gives the stored time later
    if (image) {
      const shown = element("img", "image");
      shown.src = image; // a data: URL the user picked, allowed by the page's policy
      shown.alt = "Attached image";
      node.append(shown);
    }
    node.dataset.clientId = clientId;
    node.classList.add("sending");
    this.list.append(node);
    this.scroll();
  }

  stored(clientId, messageId) {
    const node = this.list.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
    if (!node) return false;
    node.classList.remove("sending", "queued");
    node.dataset.messageId = messageId;
    this.items.set(messageId, { node, text: node.textContent, seq: 0 });
    this.lastStored = messageId;
    this.userMeta(node, messageId);
    return true;
  }

  userMeta(node, messageId, branch) {
    userMeta(node, { branch, onSwitch: this.onSwitch, onEdit: (text) => this.onEdit(messageId, text) });
  }

  // An edit of `messageId` was sent: it and what followed give way to the new text.
  editing(messageId, text) {
    const node = this.items.get(messageId)?.node;
    if (!node) return;
    this.lastStored = node.previousElementSibling?.dataset.messageId ?? null;
    while (node.nextElementSibling) {
      this.items.delete(node.nextElementSibling.dataset.messageId);
      node.nextElementSibling.remove();
    }
    this.items.delete(messageId);
    node.remove();
    const edited = this.bubble("user", text);
    edited.dataset.createdAt = new Date().toISOString();
    edited.classList.add("sending");
    edited.dataset.edit = "1";
    this.list.append(edited);
    this.scroll();
  }

  // The edit's ack: its new message is stored under `messageId`.
  editStored(messageId) {
    const node = this.list.querySelector("[data-edit]");
    if (!node) return false;
    delete node.dataset.edit;
    node.dataset.clientId = messageId;
    return this.stored(messageId, messageId);
  }

  queued(clientId) {
    const node = this.list.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
    if (node) node.classList.add("queued");
  }

  refused(clientId) {
    const node = this.list.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
    if (node) node.remove();
  }

  // A reply to `messageId` (a user message) begins: what answered it before goes.
  answering(messageId) {
    const node = this.items.get(messageId)?.node;
    while (node?.nextElementSibling) {
      const next = node.nextElementSibling;
      this.items.delete(next.dataset.messageId);
      next.remove();
    }
    this.lastStored = messageId;
  }

  bubble(role, text) {
    const node = element("li", `message ${role}`);
    const body = element("div", "body");
    if (role === "assistant") body.innerHTML = renderMarkdown(text);
    else body.textContent = text;
    node.append(body);
    return node;
  }

  // The assistant reply `messageId`, created where the conversation ends.
  reply(messageId) {
    let item = this.items.get(messageId);
    if (!item) {
      const node = this.bubble("assistant", "");
      node.dataset.messageId = messageId;
      node.classList.add("streaming");
      this.place(node);
      item = { node, text: "", seq: 0 };
      this.items.set(messageId, item);
    }
    return item;
  }

  // True when the frame is new; false for one already shown (a resume or a second copy).
  fresh(item, seq) {
    if (seq === undefined) return true;
    if (seq <= item.seq) return false;
    item.seq = seq;
    return true;
  }

  token(frame) {
    const item = this.reply(frame.message_id);
    if (!this.fresh(item, frame.seq)) return;
    item.text += frame.delta;
    this.render(item);
  }

  // Rendered once per animation frame however fast tokens come.
  render(item) {
    if (this.renderQueued.has(item)) return;
    this.renderQueued.add(item);
    requestAnimationFrame(() => {
      this.renderQueued.delete(item);
      item.node.querySelector(".body").innerHTML = renderMarkdown(item.text);
      this.scroll();
    });
  }

  toolCall(frame) {
    const item = this.reply(frame.message_id);
    if (!this.fresh(item, frame.seq)) return;
    const details = element("details", "tool");
    details.dataset.toolCallId = frame.tool_call_id;
    const summary = element("summary", "", `Tool: ${frame.name}`);
    details.append(summary, element("pre", "args", preview(frame.args)));
    item.node.insertBefore(details, item.node.querySelector(".body"));
  }

  toolResult(frame) {
    const call = this.list.querySelector(`[data-tool-call-id="${CSS.escape(frame.tool_call_id)}"]`);
    const result = element("pre", frame.is_error ? "result error" : "result", preview(frame.content));
    if (call) call.append(result);
    else this.place(element("li", "message tool", `${frame.name}: ${preview(frame.content)}`));
  }

  // The run waits for the user: nothing streams until they decide.
  approval(frame) {
    const node = this.waiting(frame.tool_call_id, "approval");
    approvalBox(node, frame, this.onDecide);
    this.list.append(node);
    this.scroll();
  }

  // The graph asks the user (LangGraph's `interrupt`): its question, and a box to answer.
  question(frame) {
    const node = this.waiting(frame.interrupt_id, "approval question");
    const input = questionBox(node, frame, { onRespond: this.onRespond, onCancel: this.onCancel });
    this.list.append(node);
    this.scroll();
    input.focus();
  }

  // The box for what the run waits on (`id`): a new one replaces one asked before.
  waiting(id, className) {
    for (const node of this.list.querySelectorAll(".approval")) {
      if (node.dataset.waitingFor === id) node.remove();
    }
    this.list.querySelectorAll(".streaming").forEach((node) => node.classList.remove("streaming"));
    const node = element("li", className);
    node.dataset.waitingFor = id;
    return node;
  }

  // The whole reply, stored: its final text, whether it was stopped, its sources.
  finish(frame) {
    this.list.querySelectorAll(".approval").forEach((node) => node.remove());
    const item = this.reply(frame.message_id);
    item.text = frame.content;
    item.node.classList.remove("streaming");
    item.node.classList.toggle("stopped", Boolean(frame.stopped));
    item.node.querySelector(".body").innerHTML = renderMarkdown(frame.content);
    item.node.querySelector(".meta")?.remove();
    item.branch = frame.branch ?? item.branch; // a live frame says nothing of siblings
    // History says when it was written; a live frame does not: it is as new as its arrival.
    item.createdAt = frame.stored ? frame.created_at : item.createdAt ?? new Date().toISOString();
    item.node.append(replyMeta({ ...frame, branch: item.branch }, {
      createdAt: item.createdAt, text: () => item.text, onFeedback: this.onFeedback, onSwitch: this.onSwitch,
    }));
    // History says what is stored; a `message` frame (live, or a resume) says nothing of it.
    if (frame.stored) item.rating = frame.feedback?.rating ?? null;
    rated(item.node, item.rating ?? null);
    this.lastStored = frame.message_id;
    this.markLast();
    this.scroll();
  }

  feedback(frame) {
    const item = this.items.get(frame.message_id);
    if (!item) return;
    item.rating = frame.rating;
    rated(item.node, frame.rating);
  }

  // Only the newest reply can be regenerated.
  markLast() {
    this.list.querySelectorAll(".regenerate").forEach((node) => node.remove());
    const last = this.list.lastElementChild;
    if (!last || !last.classList.contains("assistant") || last.classList.contains("streaming")) return;
    last.querySelector(".meta")?.append(button("regenerate", "Regenerate", () => this.onRegenerate()));
  }

  // A page of stored messages: new ones are added in order, known ones brought up to date.
  history(frame) {
    for (const message of frame.messages) this.storedMessage(message);
    for (const pending of frame.pending_interrupts ?? []) {
      if (pending.type === "interrupt") this.question(pending);
      else this.approval(pending);
    }
    this.markLast();
    this.scroll();
  }

  storedMessage(message) {
    if (message.role === "assistant") {
      const known = this.items.get(message.message_id);
      if (known && known.node.classList.contains("streaming")) return; // live frames own it
      this.finish({ ...message, stored: true });
      for (const call of message.tool_calls || []) this.toolCall({ ...call, message_id: message.message_id });
    } else if (message.role === "tool") {
      this.toolResult(message);
    } else if (!this.items.has(message.message_id)) {
      const node = this.bubble("user", message.content);
      if (message.created_at) node.dataset.createdAt = message.created_at;
      if (message.attachments?.length) node.append(this.attachments(message.attachments));
      node.dataset.messageId = message.message_id;
      this.userMeta(node, message.message_id, message.branch);
      // Another tab's message can arrive after its reply began to stream here.
      this.list.insertBefore(node, this.list.querySelector(".streaming, .sending"));
      this.items.set(message.message_id, { node, text: message.content, seq: 0 });
    }
    this.lastStored = message.message_id;
  }

  // What a stored message carried: a line per attachment (history keeps no image data).
  attachments(described) {
    const list = element("ul", "attachments");
    for (const item of described) {
      const text = item.type === "image"
        ? `Image (${item.media_type}, ${Math.ceil(item.size_bytes / 1024)} KB)`
        : `Document: ${item.title || item.document_id}`;
      list.append(element("li", item.type, text));
    }
    return list;
  }

  // Stored messages go before the ones still being sent, which stay last.
  place(node) {
    this.list.insertBefore(node, this.list.querySelector(".sending"));
  }

  scroll() {
    this.list.parentElement.scrollTop = this.list.parentElement.scrollHeight;
  }
}
