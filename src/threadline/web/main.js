// Threadline's chat page: signs in, then wires the sidebar, the open conversation and
// the composer to one WebSocket that reconnects and resumes by itself.

import { Api, Socket } from "./api.js";
import { element } from "./dom.js";
import { Sidebar } from "./sidebar.js";
import { Thread } from "./thread.js";

const $ = (selector) => document.querySelector(selector);
const SESSION_KEY = "threadline.session";
// Errors that refuse a message: it was not stored, so its text goes back to the composer.
const REFUSALS = new Set([
  "invalid_frame", "message_too_large", "conversation_not_found", "conversation_busy",
  "too_many_turns", "rate_limited", "quota_exceeded", "approval_pending",
  "unknown_model", "unsupported_attachment",
]);
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);
const QUIET = new Set(["nothing_to_resume"]);

class ChatPage {
  constructor(session) {
    this.api = new Api(session);
    this.conversation = null;
    this.running = false;
    this.outbox = []; // [{frame, sent}] until acknowledged (stored) or refused
    this.models = null; // GET /models: {default, models}
    this.image = null; // the image to send with the next message: {name, url}
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
      onError: (error) => this.notice(error.message),
    });
    this.socket = new Socket(this.api, {
      onFrame: (frame) => this.receive(frame),
      onOpen: () => this.sync(),
      onState: (state, detail) => this.connectionState(state, detail),
    });
    $("#who").textContent = session.user;
  }

  start() {
    this.bindControls();
    this.api.models().then((models) => this.showModels(models), (error) => this.notice(error.message));
    // The title of a conversation opened from the address is known once the list is in.
    this.sidebar.load().then(() => { $("#title").textContent = this.titleOf(this.conversation); });
    this.open(new URLSearchParams(location.hash.slice(1)).get("c"));
    this.socket.connect();
  }

  bindControls() {
    $("#composer").onsubmit = (event) => {
      event.preventDefault();
      this.say();
    };
    $("#input").onkeydown = (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.say();
      }
    };
    $("#stop").onclick = () => this.command("stop");
    $("#share").onclick = () => this.share();
    $("#export").onclick = () => this.export();
    $("#model").onchange = () => this.chooseModel($("#model").value);
    $("#attach").onclick = () => $("#image").click();
    $("#image").onchange = () => this.attach($("#image").files[0]);
    $("#unattach").onclick = () => this.setImage(null);
    $("#new-chat").onclick = () => this.open(null);
    $("#menu").onclick = () => document.body.classList.toggle("menu-open");
    $("#sign-out").onclick = () => {
      localStorage.removeItem(SESSION_KEY);
      this.socket.close();
      location.hash = "";
      location.reload();
    };
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.running) this.command("stop");
      if (event.key === "k" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        $("#search").focus();
      }
    });
    addEventListener("hashchange", () => {
      const id = new URLSearchParams(location.hash.slice(1)).get("c");
      if (id !== this.conversation) this.open(id);
    });
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
    history.replaceState(null, "", id ? `#c=${encodeURIComponent(id)}` : location.pathname);
    this.sidebar.select(this.conversation);
    document.body.classList.remove("menu-open");
    if (this.socket.open) this.sync();
    $("#input").focus();
  }

  // The model picker: shown when there is a choice; a new chat starts on the default.
  showModels(models) {
    this.models = models;
    const select = $("#model");
    select.replaceChildren(...models.models.map((model) => {
      const option = element("option", "", model.vision ? `${model.model_id} (sees images)` : model.model_id);
      option.value = model.model_id;
      return option;
    }));
    select.hidden = models.models.length < 2;
    this.showModel();
  }

  showModel(model) {
    if (!this.models) return;
    const known = this.sidebar.conversations.get(this.conversation)?.model;
    $("#model").value = model || (this.conversation && known) || this.models.default;
  }

  // A new chat's first message names the model; an open conversation changes at once.
  chooseModel(model) {
    if (this.conversation) this.socket.send({ type: "set_model", conversation_id: this.conversation, model });
  }

  attach(file) {
    $("#image").value = "";
    if (!file) return;
    if (!IMAGE_TYPES.has(file.type)) return this.notice("Attach a PNG, JPEG, WebP or GIF image.");
    const reader = new FileReader();
    reader.onload = () => this.setImage({ name: file.name, url: reader.result });
    reader.onerror = () => this.notice("The image could not be read.");
    reader.readAsDataURL(file);
  }

  setImage(image) {
    this.image = image;
    $("#attached").hidden = !image;
    $("#attached-name").textContent = image ? image.name : "";
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
      for (const entry of this.outbox) this.thread.pending(entry.frame.message, entry.frame.client_message_id, entry.image?.url);
      this.socket.send({ type: "history", conversation_id: id, limit: 100 });
      this.socket.send({ type: "subscribe", conversation_id: id });
      this.socket.send({ type: "resume", conversation_id: id, after_seq: 0 });
    }
    for (const entry of this.outbox) entry.sent = false;
    this.flush();
  }

  say() {
    const input = $("#input");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    const clientId = `w-${crypto.randomUUID()}`;
    const frame = { message: text, client_message_id: clientId };
    if (this.conversation) frame.conversation_id = this.conversation;
    else if (this.models && !$("#model").hidden) frame.model = $("#model").value;
    if (this.image) frame.attachments = [{ image: this.image.url }];
    this.outbox.push({ frame, sent: false, image: this.image });
    this.thread.pending(text, clientId, this.image?.url);
    this.setImage(null);
    this.setRunning(true);
    this.flush();
  }

  // Sends what waits, in order; a message for a new conversation holds the ones after it
  // until its ack names the conversation.
  flush() {
    for (const entry of this.outbox) {
      if (!entry.frame.conversation_id && this.outbox.some((e) => e !== entry && e.sent && !e.frame.conversation_id)) break;
      if (!entry.sent) entry.sent = this.socket.send(entry.frame);
      if (!entry.frame.conversation_id) break;
    }
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
        return this.setRunning(this.outbox.length > 0);
      case "context": return this.showContext(frame);
      case "history":
        this.switching = this.catchingUp = false;
        return this.thread.history(frame);
      case "feedback": return this.thread.feedback(frame);
    }
  }

  // A read-only link to the conversation as it is now, copied for the user to pass on.
  async share() {
    if (!this.conversation) return;
    try {
      const { url } = await this.api.share(this.conversation);
      await navigator.clipboard?.writeText(url).catch(() => {});
      $("#share-link").value = url;
      $("#share-link").hidden = false;
      $("#share-link").select();
      this.notice("Link copied: anyone with it can read this conversation as it is now.");
    } catch (error) {
      this.notice(error.message);
    }
  }

  // The conversation as a Markdown file, downloaded.
  async export() {
    if (!this.conversation) return;
    try {
      const text = await this.api.exported(this.conversation, "markdown");
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "text/markdown" }));
      link.download = `conversation-${this.conversation}.md`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    } catch (error) {
      this.notice(error.message);
    }
  }

  acknowledged(frame) {
    const index = this.outbox.findIndex((e) => e.frame.client_message_id === frame.client_message_id);
    const ours = index >= 0 ? this.outbox.splice(index, 1)[0] : null;
    if (ours && !ours.frame.conversation_id) {
      for (const entry of this.outbox) entry.frame.conversation_id ??= frame.conversation_id;
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
    this.flush();
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
      this.notice(frame.detail || frame.code);
      this.setRunning(this.outbox.length > 0);
      return this.sync();
    }
    if (REFUSALS.has(frame.code)) {
      const entry = this.outbox.find((e) => e.sent);
      if (entry) {
        this.outbox.splice(this.outbox.indexOf(entry), 1);
        this.thread.refused(entry.frame.client_message_id);
        const input = $("#input");
        if (!input.value) input.value = entry.frame.message; // nothing typed is lost
        if (entry.image && !this.image) this.setImage(entry.image);
      }
    }
    if (frame.code !== "shutting_down") this.setRunning(this.outbox.length > 0);
    this.notice(frame.detail || frame.code);
    if (frame.code === "conversation_not_found" && frame.conversation_id === this.conversation) {
      this.open(null); // deleted, or never this user's: start afresh
    }
  }

  sidebarEvent(frame) {
    this.sidebar.apply(frame);
    if (frame.event === "model_changed" && frame.conversation_id === this.conversation) this.showModel(frame.model);
    if (frame.conversation_id === this.conversation && frame.title !== undefined && frame.title !== null) {
      $("#title").textContent = frame.title;
    }
  }

  showContext(frame) {
    $("#context").hidden = false;
    $("#context-meter").max = frame.token_budget;
    $("#context-meter").value = frame.tokens_used;
    const summarized = frame.summarized ? ", earlier ones summarized" : "";
    $("#context-text").textContent =
      `${frame.tokens_used} / ${frame.token_budget} tokens · ${frame.messages_in_context} of ${frame.messages_total} messages${summarized}`;
  }

  setRunning(running) {
    this.running = running;
    $("#stop").hidden = !running;
    $("#send").hidden = running;
  }

  connectionState(state, detail) {
    const status = $("#status");
    status.dataset.state = state;
    status.textContent = { online: "", connecting: "Connecting…", offline: "Reconnecting…" }[state] ?? `Signed out: ${detail}`;
  }

  notice(text) {
    const notice = $("#notice");
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => { notice.hidden = true; }, 6000);
  }
}

function signIn() {
  const form = $("#signin");
  const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  if (saved?.user) return begin(saved);
  form.hidden = false;
  $("#user").focus();
  form.onsubmit = (event) => {
    event.preventDefault();
    const session = { user: $("#user").value.trim(), token: $("#token").value.trim() || null };
    if (!session.user) return;
    localStorage.setItem(SESSION_KEY, JSON.stringify(session));
    form.hidden = true;
    begin(session);
  };
}

function begin(session) {
  $("#app").hidden = false;
  new ChatPage(session).start();
}

signIn();
