// Messages typed and not yet stored: sent in order (again after a reconnect) until the
// server acknowledges (stores) or refuses each. A resent message is stored once, by its
// `client_message_id`.

export class Outbox {
  constructor(socket) {
    this.socket = socket;
    this.entries = []; // [{frame, sent, image}]
  }

  get size() {
    return this.entries.length;
  }

  add(frame, image) {
    this.entries.push({ frame, sent: false, image });
    this.flush();
  }

  // After a (re)connect: whatever is not acknowledged goes again.
  resend() {
    for (const entry of this.entries) entry.sent = false;
    this.flush();
  }

  // Sends what waits, in order; a message for a new conversation holds the ones after it
  // until its ack names the conversation.
  flush() {
    for (const entry of this.entries) {
      if (!entry.frame.conversation_id && this.entries.some((e) => e !== entry && e.sent && !e.frame.conversation_id)) break;
      if (!entry.sent) entry.sent = this.socket.send(entry.frame);
      if (!entry.frame.conversation_id) break;
    }
  }

  // The acknowledged message, taken out (null: not this page's); one that began a
  // conversation names it for the messages after it.
  acknowledged(frame) {
    const index = this.entries.findIndex((e) => e.frame.client_message_id === frame.client_message_id);
    const ours = index >= 0 ? this.entries.splice(index, 1)[0] : null;
    if (ours && !ours.frame.conversation_id) {
      for (const entry of this.entries) entry.frame.conversation_id ??= frame.conversation_id;
    }
    return ours;
  }

  // The message an error refuses, taken out: an error naming a conversation refuses a
  // message sent to it, not one sent since to another (a late answer about a
  // conversation the page has left).
  refused(frame) {
    const entry = this.entries.find((e) => e.sent &&
      (!frame.conversation_id || e.frame.conversation_id === frame.conversation_id));
    if (entry) this.entries.splice(this.entries.indexOf(entry), 1);
    return entry ?? null;
  }
}
