// The composer's extras: an image attached to the next message, and the empty state
// (what to do, and examples that fill the message box).

const $ = (selector) => document.querySelector(selector);

export const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);

export class Composer {
  constructor(notice) {
    this.notice = notice;
    this.image = null; // the image to send with the next message: {name, url}
    $("#attach").onclick = () => $("#image").click();
    $("#image").onchange = () => {
      this.attach($("#image").files[0]);
      $("#image").value = "";
    };
    $("#unattach").onclick = () => this.setImage(null);
    for (const example of document.querySelectorAll("#welcome .example")) {
      example.onclick = () => this.fill(example.textContent);
    }
  }

  attach(file) {
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

  // An example prompt in the box, for the user to send or change.
  fill(text) {
    $("#input").value = text;
    $("#input").focus();
  }

  // The empty state: on a new chat, until its first message.
  welcome(shown) {
    $("#welcome").hidden = !shown;
  }
}
