// The open conversation's bar: its model picker, Share, Export and the context meter.

import { element } from "./dom.js";

const $ = (selector) => document.querySelector(selector);

// The model picker: shown when there is a choice; a new chat starts on the default.
export class ModelPicker {
  constructor(select, onChoose) {
    this.select = select;
    this.models = null; // GET /models: {default, models}
    select.onchange = () => onChoose(select.value);
  }

  load(models) {
    this.models = models;
    this.select.replaceChildren(...models.models.map((model) => {
      const option = element("option", "", model.vision ? `${model.model_id} (sees images)` : model.model_id);
      option.value = model.model_id;
      return option;
    }));
    this.select.hidden = models.models.length < 2;
  }

  // Shows `model`, else the default; false while the models are not known yet.
  show(model) {
    if (!this.models) return;
    this.select.value = model || this.models.default;
  }

  // The model a new chat's first message names, if the user may choose one.
  get chosen() {
    return this.models && !this.select.hidden ? this.select.value : null;
  }
}

// A read-only link to the conversation as it is now, copied for the user to pass on.
export async function share(api, id, notice) {
  try {
    const { url } = await api.share(id);
    await navigator.clipboard?.writeText(url).catch(() => {});
    $("#share-link").value = url;
    $("#share-link").hidden = false;
    $("#share-link").select();
    notice("Link copied: anyone with it can read this conversation as it is now.");
  } catch (error) {
    notice(error.message);
  }
}

// The conversation as a Markdown file, downloaded.
export async function exportMarkdown(api, id, notice) {
  try {
    const text = await api.exported(id, "markdown");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/markdown" }));
    link.download = `conversation-${id}.md`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  } catch (error) {
    notice(error.message);
  }
}

// A `context` frame: how much of the model's window the conversation takes.
export function showContext(frame) {
  $("#context").hidden = false;
  $("#context-meter").max = frame.token_budget;
  $("#context-meter").value = frame.tokens_used;
  const summarized = frame.summarized ? ", earlier ones summarized" : "";
  $("#context-text").textContent =
    `${frame.tokens_used} / ${frame.token_budget} tokens · ${frame.messages_in_context} of ${frame.messages_total} messages${summarized}`;
}
