// Files dropped on the page or picked: an image goes with the next message, anything else
// to the user's knowledge, its indexing followed (GET, bounded) until ready or failed.

import { IMAGE_TYPES } from "./composer.js";
import { button, element } from "./dom.js";

const POLL_FIRST = 500; // ms; doubled after each look, up to POLL_LAST
const POLL_LAST = 5000;
const POLL_FOR = 6 * 60 * 1000; // past the server's own bound on indexing one upload
const SHOWN_FOR = 6000; // a finished upload's line, before it goes

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const carriesFiles = (event) => event.dataTransfer?.types.includes("Files");

// What a document's status says to its owner.
export function statusText(item) {
  if (item.status === "ready") return `ready · ${item.chunks} ${item.chunks === 1 ? "passage" : "passages"}`;
  if (item.status === "failed") return `failed: ${item.reason || "not indexed"}`;
  return "indexing…";
}

export class Uploads {
  constructor(api, list, { onImage, onChanged }) {
    this.api = api;
    this.list = list;
    this.onImage = onImage;
    this.onChanged = onChanged;
    addEventListener("dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // dropping allowed here, not opened as a page
      document.body.classList.add("dropping");
    });
    addEventListener("dragleave", (event) => {
      if (!event.relatedTarget) document.body.classList.remove("dropping");
    });
    addEventListener("drop", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      document.body.classList.remove("dropping");
      for (const file of event.dataTransfer.files) this.take(file);
    });
  }

  take(file) {
    if (IMAGE_TYPES.has(file.type)) return this.onImage(file);
    this.upload(file);
  }

  async upload(file) {
    const state = element("span", "upload-status", "uploading…");
    const row = element("li", "upload indexing");
    row.append(element("span", "upload-name", file.name), state);
    this.list.append(row);
    this.list.hidden = false;
    let item = null;
    try {
      item = await this.follow(await this.api.upload(file), row, state);
    } catch (error) {
      this.shown(row, state, { status: "failed", reason: error.message });
    }
    this.onChanged();
    if (item?.status === "ready") setTimeout(() => this.dismiss(row), SHOWN_FOR);
    else row.append(button("dismiss", "×", () => this.dismiss(row)));
  }

  // The document's status, looked at again and again until it is settled (or too long).
  async follow(item, row, state) {
    const until = Date.now() + POLL_FOR;
    let delay = POLL_FIRST;
    this.shown(row, state, item);
    this.onChanged();
    while (item.status === "indexing" && Date.now() < until) {
      await sleep(delay);
      delay = Math.min(delay * 2, POLL_LAST);
      item = await this.api.document(item.document_id);
      this.shown(row, state, item);
    }
    if (item.status === "indexing") state.textContent = "still indexing: see Documents and memories";
    return item;
  }

  shown(row, state, item) {
    row.className = `upload ${item.status}`;
    state.textContent = statusText(item);
  }

  dismiss(row) {
    row.remove();
    this.list.hidden = !this.list.children.length;
  }
}
