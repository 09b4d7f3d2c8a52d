// Signing in: the user name (and token) kept in local storage until Sign out.

const $ = (selector) => document.querySelector(selector);
const SESSION_KEY = "threadline.session";

// Calls `begin(session)` with the saved session, or the one the form gives.
export function signIn(begin) {
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

export function signOut() {
  localStorage.removeItem(SESSION_KEY);
}
