// Threadline's chat page: signs in, then wires the sidebar, the open conversation and
// the composer to one WebSocket that reconnects and resumes by itself; the controls, the
// topbar, the composer's extras, uploads, the knowledge drawer and usage are modules of
// their own.

import { Api, Socket } from "./api.js";
import { Composer } from "./composer.js";
import { bindControls } from "./controls.js";
import { KnowledgeDrawer } from "./knowledge.js";
import { Outbox } from "./outbox.js";
import { Sidebar } from "./sidebar.js";
import { signIn } from "./signin.js";
import { connectionState, notice } from "./status.js";
import { Thread } from "./thread.js";
import { ModelPicker, showContext } from "./topbar.js";
import { Uploads } from "./uploads.js";
import { UsageMeter } from "./usage.js";

const $ = (selector) => document.querySelector(selector);
// Errors that refuse a message: it was not stored, so its text goes back to the composer.
const REFUSALS = new Set([
  "invalid_frame", "message_too_large", "conversation_not_found", "conversation_busy",
  "too_many_turns", "rate_limited", "quota_exceeded", "approval_pending",
  "unknown_model", "unsupported_attachment",
]);
const QUIET = new Set(["nothing_to_resume"]);

class ChatPage {
  constructor(session) {
    this.api = new Api(session);
    this.conversation = null;
    this.running = false;
    this.composer = new Composer(notice);
    this.models = new ModelPicker($("#model"), (model) => this.chooseModel(model));
    this.usage = new UsageMeter(this.api);
    this.knowledge = new KnowledgeDrawer(this.api, {
      onPick: (file) => this.uploads.upload(file),
      onError: (error) => notice(error.message),
    });
    this.uploads = new Uploads(this.api, $("#uploads"), {
      onImage: (file) => this.composer.attach(file),
      onChanged: () => this.knowledge.refresh(),
    });
    this.thread = new Thread($("#messages"), {
      onDecide: (type, toolCallId) => this.decide(type, toolCallId),
      onRespond: (interruptId, value) => this.answer({ type: "respond", interrupt_id: interruptId, value }),
      onCancel: (interruptId) => this.answer({ type: "cancel_interrupt", interrupt_id: interruptId }),
      onRegenerate: () => this.command("regenerate"),
      onFeedback: (messageId, rating) => this.socket.send({
        type: "feedback", conversation_id: this.conversation, message_id: messageId, rating,
      }),
      onEdit: (messageId, text) => this.edit(messageId, text),
      onSwitch: (messageId) => this.switchTo(messageId),
    });
    this.pendingEdit = false; // an edit sent, its ack not yet in
    this.switching = false; // a switch_branch sent, its history not yet in
    this.reloadAfter = false; // an edit or regenerate runs: its siblings show once stored
    this.catchingUp = false; // another tab's message: the history after the last one asked
    this.sidebar = new Sidebar($("#sidebar"), this.api, {
      onOpen: (id) => this.open(id),
      onDeleted: (id) => id === this.conversation && this.open(null),
      onError: (error) => notice(error.message),
    });
    this.socket = new Socket(this.api, {
      onFrame: (frame) => this.receive(frame),
      onOpen: () => this.sync(),
      onState: connectionState,
    });
    this.outbox = new Outbox(this.socket);
    $("#who").textContent = session.user;
  }

  start() {
    bindControls(this);
    this.api.models().then((models) => {
      this.models.load(models);
      this.showModel();
    }, (error) => notice(error.message));
    this.usage.refresh();
    // The title of a conversation opened from the address is known once the list is in.
    this.sidebar.load().then(() => { $("#title").textContent = this.titleOf(this.conversation); });
    this.open(new URLSearchParams(location.hash.slice(1)).get("c"));
    this.socket.connect();
  }

  open(id) {
    if (this.conversation && this.conversation !== id) {
      this.socket.send({ type: "unsubscribe", conversation_id: this.conversation });
    }
    this.conversation = id || null;
    this.thread.clear();
    this.setRunning(false);
    $("#context").hidden = true;
    $("#share").hidden = $("#export").hidden = !this.conversation;
    $("#share-link").hidden = true;
    $("#title").textContent = this.titleOf(id);
    this.showModel();
    this.composer.welcome(!this.conversation);
    history.replaceState(null, "", id ? `#c=${encodeURIComponent(id)}` : location.pathname);
    this.sidebar.select(this.conversation);
    document.body.classList.remove("menu-open");
    if (this.socket.open) this.sync();
    $("#input").focus();
  }

  showModel(model) {
    const known = this.sidebar.conversations.get(this.conversation)?.model;
    this.models.show(model || (this.conversation && known));
  }

  // A new chat's first message names the model; an open conversation changes at once.
  chooseModel(model) {
    if (this.conversation) this.socket.send({ type: "set_model", conversation_id: this.conversation, model });
  }

  titleOf(id) {
    if (!id) return "New chat";
    return this.sidebar.conversations.get(id)?.title || "Conversation";
  }

  // After opening a conversation or reconnecting: the conversation as stored now (a
  // reply may have been regenerated or deleted meanwhile), then live frames. A reply
  // still being written anywhere is replayed from its start and continues live.
  sync() {
    const id = this.conversation;
    if (id) {
      this.thread.clear();
      for (const entry of this.outbox.entries) this.thread.pending(entry.frame.message, entry.frame.client_message_id, entry.image?.url);
      this.socket.send({ type: "history", conversation_id: id, limit: 100 });
      this.socket.send({ type: "subscribe", conversation_id: id });
      this.socket.send({ type: "resume", conversation_id: id, after_seq: 0 });
    }
    this.outbox.resend();
  }

  say() {
    const input = $("#input");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    const clientId = `w-${crypto.randomUUID()}`;
    const frame = { message: text, client_message_id: clientId };
    if (this.conversation) frame.conversation_id = this.conversation;
    else if (this.models.chosen) frame.model = this.models.chosen;
    const image = this.composer.image;
    if (image) frame.attachments = [{ image: image.url }];
    this.thread.pending(text, clientId, image?.url);
    this.composer.setImage(null);
    this.composer.welcome(false);
    this.setRunning(true);
    this.outbox.add(frame, image);
  }

  command(type) {
    if (!this.conversation) return;
    if (type === "regenerate") {
      this.setRunning(true);
      this.reloadAfter = true;
    }
    this.socket.send({ type, conversation_id: this.conversation });
  }

  // A user message edited: the new text is sent as its sibling, on a branch of its own.
  edit(messageId, text) {
    this.thread.editing(messageId, text);
    this.pendingEdit = true;
    this.reloadAfter = true;
    this.setRunning(true);
    this.socket.send({ type: "edit", conversation_id: this.conversation, message_id: messageId, message: text });
  }

  // Another version of a message: its branch becomes the conversation's current path.
  switchTo(messageId) {
    this.switching = true;
    this.thread.clear();
    this.socket.send({ type: "switch_branch", conversation_id: this.conversation, message_id: messageId, limit: 100 });
  }

  // The conversation read again once an edit or regenerate is stored: now with its siblings.
  reload() {
    this.reloadAfter = false;
    this.thread.clear();
    this.socket.send({ type: "history", conversation_id: this.conversation, limit: 100 });
  }

  decide(type, toolCallId) {
    this.answer({ type, tool_call_id: toolCallId });
  }

  // An answer to what the run waits for: it goes on (or, cancelled, ends as stopped).
  answer(frame) {
    this.setRunning(true);
    this.socket.send({ ...frame, conversation_id: this.conversation });
  }

  receive(frame) {
    if (frame.type === "conversation") return this.sidebarEvent(frame);
    if (frame.type === "ack") this.acknowledged(frame);
    if (frame.type === "error") return this.failed(frame);
    if (frame.conversation_id !== this.conversation) return;
    switch (frame.type) {
      case "queued": return this.thread.queued(frame.client_message_id);
      case "token": this.setRunning(true); return this.thread.token(frame);
      case "tool_call": this.setRunning(true); return this.thread.toolCall(frame);
      case "tool_result": return this.thread.toolResult(frame);
      case "approval_required": this.setRunning(false); return this.thread.approval(frame);
      case "interrupt": this.setRunning(false); return this.thread.question(frame);
      case "message":
        this.thread.finish(frame);
        if (this.reloadAfter && !frame.stopped) this.reload();
        this.usage.refresh();
        return this.setRunning(this.outbox.size > 0);
      case "context": return showContext(frame);
      case "history":
        this.switching = this.catchingUp = false;
        return this.thread.history(frame);
      case "feedback": return this.thread.feedback(frame);
    }
  }

  acknowledged(frame) {
    const ours = this.outbox.acknowledged(frame);
    if (ours && !ours.frame.conversation_id) {
      if (!this.conversation) {
        this.conversation = frame.conversation_id;
        $("#share").hidden = $("#export").hidden = false;
        history.replaceState(null, "", `#c=${encodeURIComponent(frame.conversation_id)}`);
        this.socket.send({ type: "subscribe", conversation_id: frame.conversation_id });
        this.sidebar.select(frame.conversation_id);
      }
    }
    if (frame.conversation_id !== this.conversation) return;
    this.setRunning(true);
    if (!ours && this.pendingEdit && this.thread.editStored(frame.message_id)) {
      this.pendingEdit = false;
    } else if (ours && this.thread.stored(frame.client_message_id, frame.message_id)) {
      this.thread.lastStored = frame.message_id;
    } else if (this.thread.items.has(frame.message_id)) {
      this.thread.answering(frame.message_id); // a regeneration: its reply replaces the last
    } else {
      // Another tab's message: read what was stored.
      const since = this.thread.lastStored;
      const page = { type: "history", conversation_id: this.conversation, limit: 500 };
      if (since) page.after_message_id = since;
      this.catchingUp = Boolean(since); // refused if an edit there left `since` behind
      this.socket.send(page);
    }
    this.outbox.flush();
  }

  failed(frame) {
    if (QUIET.has(frame.code)) return;
    if (this.catchingUp && frame.code === "invalid_frame" && frame.conversation_id === this.conversation) {
      // Another tab's edit: what this one showed last is on another branch now.
      this.catchingUp = false;
      return this.sync();
    }
    if ((this.pendingEdit || this.switching) && frame.conversation_id === this.conversation) {
      // An edit or a switch refused: the conversation as it still is.
      this.pendingEdit = this.switching = this.reloadAfter = false;
      notice(frame.detail || frame.code);
      this.setRunning(this.outbox.size > 0);
      return this.sync();
    }
    if (REFUSALS.has(frame.code)) {
      const entry = this.outbox.refused(frame);
      if (entry) {
        this.thread.refused(entry.frame.client_message_id);
        const input = $("#input");
        if (!input.value) input.value = entry.frame.message; // nothing typed is lost
        if (entry.image && !this.composer.image) this.composer.setImage(entry.image);
        if (!this.conversation && this.thread.empty) this.composer.welcome(true);
      }
    }
    if (frame.code !== "shutting_down") this.setRunning(this.outbox.size > 0);
    notice(frame.detail || frame.code);
    if (frame.code === "conversation_not_found" && frame.conversation_id === this.conversation) {
      this.open(null); // deleted, or never this user's: start afresh
    }
  }

  sidebarEvent(frame) {
    this.sidebar.apply(frame);
    if (frame.event === "updated") this.usage.refresh(); // a turn ended: its use is counted
    if (frame.event === "model_changed" && frame.conversation_id === this.conversation) this.showModel(frame.model);
    if (frame.conversation_id === this.conversation && frame.title !== undefined && frame.title !== null) {
      $("#title").textContent = frame.title;
    }
  }

  setRunning(running) {
    this.running = running;
    $("#stop").hidden = !running;
    $("#send").hidden = running;
  }

}

function begin(session) {
  $("#app").hidden = false;
  new ChatPage(session).start();
}

signIn(begin);
