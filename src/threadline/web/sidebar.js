// The sidebar: the user's conversations newest first, kept current by `conversation`
// frames from every tab and server; rename, delete, and search.

import { button, element } from "./dom.js";

const UNTITLED = "New conversation";

export class Sidebar {
  constructor(root, api, { onOpen, onDeleted, onError }) {
    this.root = root;
    this.list = root.querySelector("#conversations");
    this.more = root.querySelector("#more");
    this.search = root.querySelector("#search");
    this.api = api;
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.onError = onError;
    this.conversations = new Map(); // id -> {title, updated_at}
    this.cursor = null;
    this.current = null;
    this.more.onclick = () => this.load(this.cursor);
    let timer;
    this.search.oninput = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.find(this.search.value.trim()), 250);
    };
  }

  async load(cursor = null) {
    try {
      const page = await this.api.conversations(cursor);
      if (!cursor) this.conversations.clear();
      for (const item of page.items) this.conversations.set(item.conversation_id, item);
      this.cursor = page.next_cursor;
      this.show();
    } catch (error) {
      this.onError(error);
    }
  }

  // A `conversation` frame: created, updated (a reply stored), renamed or deleted.
  apply(frame) {
    const id = frame.conversation_id;
    if (frame.event === "deleted") {
      this.conversations.delete(id);
      this.onDeleted(id);
    } else {
      const known = this.conversations.get(id) || { conversation_id: id, title: null };
      if (frame.title !== undefined) known.title = frame.title;
      if (frame.model !== undefined) known.model = frame.model;
      known.updated_at = frame.updated_at;
      this.conversations.delete(id); // re-inserted first: newest activity on top
      this.conversations = new Map([[id, known], ...this.conversations]);
    }
    if (!this.search.value.trim()) this.show();
  }

  select(id) {
    this.current = id;
    for (const node of this.list.children) {
      node.classList.toggle("current", node.dataset.id === id);
      node.querySelector(".open")?.setAttribute("aria-current", node.dataset.id === id ? "page" : "false");
    }
  }

  show() {
    const sorted = [...this.conversations.values()].sort((a, b) =>
      (b.updated_at || "").localeCompare(a.updated_at || ""),
    );
    this.list.replaceChildren(...sorted.map((item) => this.entry(item)));
    this.more.hidden = !this.cursor;
    this.select(this.current);
  }

  entry(item) {
    const node = element("li", "conversation");
    node.dataset.id = item.conversation_id;
    const open = button("open", item.title || UNTITLED, () => this.onOpen(item.conversation_id));
    open.title = item.title || UNTITLED;
    const rename = button("rename", "✎", () => this.edit(node, item));
    rename.setAttribute("aria-label", "Rename");
    const remove = button("delete", "×", () => this.remove(item));
    remove.setAttribute("aria-label", "Delete");
    node.append(open, rename, remove);
    return node;
  }

  edit(node, item) {
    const input = element("input", "title-input");
    input.value = item.title || "";
    input.setAttribute("aria-label", "New title");
    input.maxLength = 200;
    node.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== item.title) {
        try {
          await this.api.rename(item.conversation_id, title);
          item.title = title;
        } catch (error) {
          this.onError(error);
        }
      }
      this.show();
    };
    input.onkeydown = (event) => {
      if (event.key === "Enter") finish(true);
      if (event.key === "Escape") finish(false);
    };
    input.onblur = () => finish(true);
  }

  async remove(item) {
    if (!confirm(`Delete “${item.title || UNTITLED}”? This cannot be undone.`)) return;
    try {
      await this.api.remove(item.conversation_id);
    } catch (error) {
      if (error.status !== 404) return this.onError(error);
    }
    this.apply({ conversation_id: item.conversation_id, event: "deleted" });
  }

  async find(query) {
    if (!query) return this.show();
    try {
      const { items } = await this.api.search(query);
      if (this.search.value.trim() !== query) return; // typed on meanwhile
      this.more.hidden = true;
      this.list.replaceChildren(
        ...items.map((hit) => {
          const node = element("li", "conversation hit");
          node.dataset.id = hit.conversation_id;
          const open = button("open", undefined, () => this.onOpen(hit.conversation_id));
          open.append(element("strong", "", hit.title || UNTITLED), element("span", "snippet", hit.snippet));
          node.append(open);
          return node;
        }),
      );
      if (!items.length) this.list.append(element("li", "empty", "No matches"));
    } catch (error) {
      this.onError(error);
    }
  }
}
