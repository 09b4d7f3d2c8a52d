// The user's use of the model today against their daily quota, at the sidebar's foot.

const $ = (selector) => document.querySelector(selector);
const number = new Intl.NumberFormat();

export class UsageMeter {
  constructor(api) {
    this.api = api;
  }

  // Read again (after a turn): a failure leaves the last figures, it is only a hint.
  async refresh() {
    let usage;
    try {
      usage = await this.api.usage();
    } catch {
      return;
    }
    const quota = usage.daily_token_quota;
    const used = number.format(usage.tokens_today);
    $("#usage-text").textContent = quota === null
      ? `${used} tokens today`
      : `${used} of ${number.format(quota)} tokens today`;
    $("#usage-meter").hidden = quota === null;
    if (quota !== null) {
      $("#usage-meter").max = quota;
      $("#usage-meter").value = usage.tokens_today;
    }
    $("#usage").title = `${usage.messages_today} messages today (${usage.day}, UTC)`;
    $("#usage").hidden = false;
  }
}
