// "Documents and memories": a drawer with the user's documents (their indexing status)
// and what the assistant remembers about them, each to delete. The API answers for the
// signed-in user only. Text goes in as textContent.

import { button, element } from "./dom.js";
import { timestamp } from "./meta.js";
import { statusText } from "./uploads.js";

const $ = (selector) => document.querySelector(selector);
const DOCUMENT_TYPES = ".txt,.md,.markdown,.html,.htm,.pdf,text/plain,text/markdown,text/html,application/pdf";

export class KnowledgeDrawer {
  constructor(api, { onPick, onError }) {
    this.api = api;
    this.onError = onError;
    this.root = $("#knowledge");
    $("#knowledge-open").onclick = () => this.toggle(true);
    $("#knowledge-close").onclick = () => this.toggle(false);
    $("#add-document").onclick = () => $("#document-file").click();
    $("#document-file").accept = DOCUMENT_TYPES;
    $("#document-file").onchange = () => {
      for (const file of $("#document-file").files) onPick(file);
      $("#document-file").value = "";
    };
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || this.root.hidden) return;
      event.stopImmediatePropagation(); // closes the drawer, and stops no reply
      this.toggle(false);
    });
  }

  toggle(open) {
    this.root.hidden = !open;
    $("#knowledge-open").setAttribute("aria-expanded", String(open));
    if (open) {
      this.refresh();
      $("#knowledge-close").focus();
    }
  }

  // Read both lists again, if the drawer is open (after an upload's status changed).
  async refresh() {
    if (this.root.hidden) return;
    try {
      const [documents, memories] = await Promise.all([this.api.documents(), this.api.memories()]);
      this.showDocuments(documents.items);
      this.showMemories(memories.items);
    } catch (error) {
      this.onError(error);
    }
  }

  showDocuments(items) {
    const rows = items.map((item) => {
      const row = this.row(item.title, item.created_at, () => this.api.removeDocument(item.document_id));
      row.dataset.id = item.document_id;
      const state = element("span", `badge ${item.status}`, statusText(item));
      row.querySelector(".item-meta").prepend(state);
      return row;
    });
    if (!rows.length) rows.push(element("li", "empty", "No documents yet: drop a file on the page."));
    $("#documents").replaceChildren(...rows);
  }

  showMemories(items) {
    const rows = items.map((item) => {
      const row = this.row(item.text, item.created_at, () => this.api.forget(item.memory_id));
      row.dataset.id = item.memory_id;
      return row;
    });
    if (!rows.length) rows.push(element("li", "empty", "No memories yet: ask the assistant to remember something."));
    $("#memories").replaceChildren(...rows);
  }

  // One document or memory: its text, when, and × to delete it (after a confirmation).
  row(text, createdAt, remove) {
    const row = element("li", "item");
    const meta = element("span", "item-meta");
    meta.append(timestamp(createdAt));
    const removing = button("delete", "×", async () => {
      if (!confirm(`Delete “${text.slice(0, 80)}”? This cannot be undone.`)) return;
      try {
        await remove();
      } catch (error) {
        if (error.status !== 404) return this.onError(error); // 404: gone already
      }
      this.refresh();
    });
    removing.setAttribute("aria-label", "Delete");
    row.append(element("span", "item-text", text), meta, removing);
    return row;
  }
}
