// What the page tells the user beside the conversation: the connection's state, notices.

const $ = (selector) => document.querySelector(selector);
let noticeTimer;

export function connectionState(state, detail) {
  const status = $("#status");
  status.dataset.state = state;
  status.textContent = { online: "", connecting: "Connecting…", offline: "Reconnecting…" }[state] ?? `Signed out: ${detail}`;
}

// A line under the conversation for six seconds: an error, or what an action did.
export function notice(text) {
  const shown = $("#notice");
  shown.textContent = text;
  shown.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { shown.hidden = true; }, 6000);
}
