// The REST API and the WebSocket, for one signed-in user.

const RETRY_FIRST = 250;
const RETRY_LAST = 5000;
// Close codes after which connecting again cannot help (credentials refused or expired).
const FINAL_CLOSES = new Set([1008, 4401, 4403]);

export class ApiError extends Error {
  constructor(status, body) {
    super(body.detail || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || String(status);
  }

  // The credentials are refused (or not for this user): trying again cannot help.
  get final() {
    return this.status === 401 || this.status === 403;
  }
}

export class Api {
  constructor(session) {
    this.session = session; // {user, token}
  }

  get userPath() {
    return `/users/${encodeURIComponent(this.session.user)}`;
  }

  async request(method, path, body) {
    const headers = {};
    if (this.session.token) headers.Authorization = `Bearer ${this.session.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  conversations(cursor) {
    const query = new URLSearchParams({ limit: "30" });
    if (cursor) query.set("cursor", cursor);
    return this.request("GET", `${this.userPath}/conversations?${query}`);
  }

  rename(id, title) {
    return this.request("PATCH", `${this.userPath}/conversations/${encodeURIComponent(id)}`, { title });
  }

  // The models a conversation may pick, the default first.
  models() {
    return this.request("GET", "/models");
  }

  remove(id) {
    return this.request("DELETE", `${this.userPath}/conversations/${encodeURIComponent(id)}`);
  }

  share(id) {
    return this.request("POST", `${this.userPath}/conversations/${encodeURIComponent(id)}/share`);
  }

  // The conversation exported (`json` or `markdown`), as text.
  async exported(id, format) {
    const headers = {};
    if (this.session.token) headers.Authorization = `Bearer ${this.session.token}`;
    const path = `${this.userPath}/conversations/${encodeURIComponent(id)}/export?format=${format}`;
    const response = await fetch(path, { headers });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
    return response.text();
  }

  // The user's use of the model today, against the daily quota.
  usage() {
    return this.request("GET", `${this.userPath}/usage`);
  }

  documents() {
    return this.request("GET", `${this.userPath}/documents`);
  }

  document(id) {
    return this.request("GET", `${this.userPath}/documents/${encodeURIComponent(id)}`);
  }

  // A file for the knowledge base, sent as a multipart form; indexed in the background.
  async upload(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    const headers = {};
    if (this.session.token) headers.Authorization = `Bearer ${this.session.token}`;
    const response = await fetch(`${this.userPath}/documents`, { method: "POST", headers, body: form });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  removeDocument(id) {
    return this.request("DELETE", `${this.userPath}/documents/${encodeURIComponent(id)}`);
  }

  memories() {
    return this.request("GET", `${this.userPath}/memories`);
  }

  forget(id) {
    return this.request("DELETE", `${this.userPath}/memories/${encodeURIComponent(id)}`);
  }

  search(q) {
    const query = new URLSearchParams({ q, limit: "20" });
    return this.request("GET", `${this.userPath}/search?${query}`);
  }

  // Why the server refuses this session, or null. A socket refused at its handshake shows
  // the page no status, so the REST API, which checks the same credential and user, is asked.
  async refusal() {
    try {
      await this.request("GET", `${this.userPath}/conversations?limit=1`);
      return null;
    } catch (error) {
      return error instanceof ApiError && error.final ? error.message : null;
    }
  }

  async socketUrl() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let url = `${scheme}://${location.host}/ws/${encodeURIComponent(this.session.user)}`;
    if (this.session.token) {
      // Browsers cannot put a token on a WebSocket: trade it for a one-time ticket.
      const { ticket } = await this.request("POST", "/auth/ws-ticket");
      url += `?ticket=${encodeURIComponent(ticket)}`;
    }
    return url;
  }
}

// A WebSocket that reconnects by itself, waiting longer after each failure.
export class Socket {
  constructor(api, { onFrame, onOpen, onState }) {
    this.api = api;
    this.onFrame = onFrame;
    this.onOpen = onOpen;
    this.onState = onState;
    this.ws = null;
    this.delay = RETRY_FIRST;
    this.closed = false;
  }

  async connect() {
    if (this.closed) return;
    this.onState("connecting");
    let url;
    try {
      url = await this.api.socketUrl();
    } catch (error) {
      if (error instanceof ApiError && error.final) this.onState("refused", error.message);
      else this.retry();
      return;
    }
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.delay = RETRY_FIRST;
      this.onState("online");
      this.onOpen();
    };
    ws.onmessage = (event) => this.onFrame(JSON.parse(event.data));
    ws.onclose = async (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (FINAL_CLOSES.has(event.code)) return this.onState("refused", event.reason || `closed ${event.code}`);
      // Never opened: the handshake was refused (or the server is unreachable). Ask why
      // before trying again, so refused credentials do not mint a ticket per retry.
      const refusal = opened ? null : await this.api.refusal();
      if (refusal) this.onState("refused", refusal);
      else this.retry();
    };
  }

  retry() {
    if (this.closed) return;
    this.onState("offline");
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, RETRY_LAST);
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}
