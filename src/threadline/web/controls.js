// The page's controls wired to the chat page: the composer, Stop, Share, Export, New
// chat, the menu, Sign out, the keyboard (Escape stops a reply, Ctrl+K searches) and the
// address (#c=ID opens a conversation).

import { signOut } from "./signin.js";
import { notice } from "./status.js";
import { exportMarkdown, share } from "./topbar.js";

const $ = (selector) => document.querySelector(selector);

export function bindControls(page) {
  $("#composer").onsubmit = (event) => {
    event.preventDefault();
    page.say();
  };
  $("#input").onkeydown = (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      page.say();
    }
  };
  $("#stop").onclick = () => page.command("stop");
  $("#share").onclick = () => page.conversation && share(page.api, page.conversation, notice);
  $("#export").onclick = () => page.conversation && exportMarkdown(page.api, page.conversation, notice);
  $("#new-chat").onclick = () => page.open(null);
  $("#menu").onclick = () => document.body.classList.toggle("menu-open");
  $("#sign-out").onclick = () => {
    signOut();
    page.socket.close();
    location.hash = "";
    location.reload();
  };
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && page.running) page.command("stop");
    if (event.key === "k" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("#search").focus();
    }
  });
  addEventListener("hashchange", () => {
    const id = new URLSearchParams(location.hash.slice(1)).get("c");
    if (id !== page.conversation) page.open(id);
  });
}
