// The demo Manager page: talks to /demo/api/* (relative URLs, so any prefix works) and polls
// the pairing and every pending request about once a second. Data from the server is only ever
// put into the page with textContent / value, never as HTML.
"use strict";

(function () {
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);

  async function api(path, body) {
    const options = { cache: "no-store", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    if (!response.ok) {
      throw new Error(data.error || "The emulator answered HTTP " + response.status + ".");
    }
    return data;
  }

  function show(el, text) {
    el.textContent = text;
    el.hidden = !text;
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    const label = button.textContent;
    button.textContent = "Copied ✓";
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  function clock(unix) {
    return new Date(unix * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function localTime(unix) {
    if (typeof unix !== "number") return "—";
    return new Date(unix * 1000).toLocaleString();
  }

  // ------------------------------------------------------------------ the HEM

  async function loadHem() {
    try {
      const hem = await api("api/hem");
      $("hem-hostname").textContent = hem.hostname || "—";
      $("hem-hostname").classList.remove("loading");
      $("hem-user").textContent = hem.user || "—";
      $("hem-email").textContent = hem.email || "—";
      $("hem-eid").textContent = hem.eid_short;
      $("hem-eid").title = hem.eid;
      $("hem-paired").textContent = hem.paired + " paired";
      $("hem-url").textContent = hem.hem_url;
      $("broker-url").textContent = hem.broker_url + "/notify";
      show($("hem-error"), "");
      renderActions(hem.actions);
    } catch (e) {
      show($("hem-error"), e.message);
    }
  }

  function renderActions(actions) {
    const box = $("actions");
    const existing = Array.from(box.querySelectorAll("button")).map((b) => b.dataset.scope);
    const wanted = actions.map((a) => a.scope);
    if (existing.join("\n") === wanted.join("\n")) return;
    box.replaceChildren();
    for (const action of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "action";
      button.dataset.scope = action.scope;
      button.dataset.action = action.id;
      const label = document.createElement("span");
      label.className = "action-label";
      label.textContent = action.label;
      const detail = document.createElement("span");
      detail.className = "action-detail";
      detail.textContent = action.detail || "";
      const scope = document.createElement("span");
      scope.className = "action-scope";
      scope.textContent = action.scope.length > 40 ? action.scope.slice(0, 39) + "…" : action.scope;
      button.append(label, detail, scope);
      button.addEventListener("click", () => ask(action.scope, button));
      box.appendChild(button);
    }
  }

  // ------------------------------------------------------------------ the pairing QR code

  // The server sends the code with one pixel per module (qr_modules of them across, quiet zone
  // included). The page shows every module as the same whole number of *device* pixels — at
  // least MIN_MODULE_PX, about QR_MODULE_CSS CSS pixels — unsmoothed (image-rendering:
  // pixelated), and sizes it again when the zoom changes the device pixel ratio. A code scaled
  // by a fraction has modules of uneven widths, which the authenticator's screen reading (and a
  // phone) may not read.
  const MIN_MODULE_PX = 4;
  const QR_MODULE_CSS = 4;
  let zoomQuery = null;

  function qrModulePixels(ratio) {
    return Math.max(MIN_MODULE_PX, Math.round(QR_MODULE_CSS * ratio));
  }

  function sizeQr() {
    const img = $("pair-qr");
    const modules = Number(img.dataset.modules);
    if (!modules) return;
    const ratio = window.devicePixelRatio || 1;
    const device = qrModulePixels(ratio);
    const side = (modules * device) / ratio + "px";
    img.style.width = side;
    img.style.height = side;
    img.dataset.modulePx = String(device);
  }

  function watchZoom() {
    if (zoomQuery) zoomQuery.removeEventListener("change", onZoom);
    zoomQuery = window.matchMedia("(resolution: " + (window.devicePixelRatio || 1) + "dppx)");
    zoomQuery.addEventListener("change", onZoom);
  }

  function onZoom() {
    sizeQr();
    watchZoom();
  }

  // ------------------------------------------------------------------ pairing

  const PAIR_TEXT = {
    pending: "Waiting for the authenticator…",
    paired: "Paired ✓",
    refused: "Refused by the authenticator.",
    expired: "Expired — start a new pairing.",
  };
  let pairing = null;

  async function startPairing() {
    const button = $("pair-button");
    button.disabled = true;
    show($("pair-status"), "Asking the HEM for a pairing code…");
    $("pair-status").dataset.state = "pending";
    try {
      const started = await api("api/pair", {});
      pairing = started.id;
      const img = $("pair-qr");
      img.dataset.modules = String(started.qr_modules);
      // The whole code on screen (quiet zone included), or the app cannot read it from there.
      img.addEventListener("load", () => img.scrollIntoView({ block: "nearest" }), { once: true });
      img.src = started.qr_png;
      sizeQr();
      $("pair-text").value = started.qr_text;
      $("pair-link").href = started.pair_link;
      $("pair-area").hidden = false;
      setPairState(started.state);
      setTimeout(() => pollPairing(started.id), POLL_MS);
    } catch (e) {
      show($("pair-status"), e.message);
      $("pair-status").dataset.state = "failed";
      button.disabled = false;
    }
  }

  function setPairState(state) {
    show($("pair-status"), PAIR_TEXT[state] || state);
    $("pair-status").dataset.state = state;
    const done = state !== "pending";
    $("pair-button").disabled = !done;
    $("pair-button").textContent = done ? "Pair another authenticator" : "Pair an authenticator";
    $("pair-area").classList.toggle("done", done);
  }

  async function pollPairing(id) {
    if (pairing !== id) return;
    try {
      const answer = await api("api/pair/" + encodeURIComponent(id));
      setPairState(answer.state);
      if (answer.state === "pending") {
        setTimeout(() => pollPairing(id), POLL_MS);
      } else {
        loadHem();
      }
    } catch (e) {
      show($("pair-status"), e.message);
      $("pair-status").dataset.state = "failed";
      $("pair-button").disabled = false;
    }
  }

  // ------------------------------------------------------------------ access requests

  const BADGE = {
    pending: "Waiting",
    approved: "Approved",
    denied: "Denied",
    expired: "Expired",
    cancelled: "Cancelled",
    failed: "Failed",
  };

  async function ask(scope, button) {
    button.disabled = true;
    show($("access-error"), "");
    try {
      const started = await api("api/request", { scope: scope });
      const item = makeRequest(started);
      $("requests").prepend(item);
      update(item, started);
      setTimeout(() => pollRequest(item, started.id), POLL_MS);
    } catch (e) {
      show($("access-error"), e.message);
    } finally {
      button.disabled = false;
    }
  }

  function makeRequest(started) {
    const item = $("request-template").content.firstElementChild.cloneNode(true);
    item.dataset.id = started.id;
    item.querySelector(".request-title").textContent = started.title;
    item.querySelector(".request-scope").textContent = started.scope;
    item.querySelector(".cancel").addEventListener("click", async (event) => {
      event.currentTarget.disabled = true;
      try {
        update(item, await api("api/request/" + encodeURIComponent(started.id) + "/cancel", {}));
      } catch (e) {
        item.querySelector(".request-status").textContent = e.message;
      }
    });
    item.querySelector(".copy-token").addEventListener("click", (event) => {
      copy(item.querySelector(".token").value, event.currentTarget);
    });
    const tokenId = "token-" + started.id;
    item.querySelector(".token").id = tokenId;
    item.querySelector(".token-label").htmlFor = tokenId;
    return item;
  }

  function statusText(answer) {
    switch (answer.state) {
      case "pending": return "Waiting for approval… " + answer.remaining + " s (this page stops "
        + "waiting at " + clock(Date.now() / 1000 + answer.remaining) + ")";
      case "approved": return "Approved ✓ — the HEM issued this token:";
      case "denied": return "Denied by the authenticator.";
      case "expired": return "Expired — nobody answered in time.";
      case "cancelled": return "Cancelled.";
      case "failed": return "Failed: " + (answer.error || "the HEM did not accept the approval.");
      default: return answer.state;
    }
  }

  function update(item, answer) {
    item.dataset.state = answer.state;
    item.querySelector(".badge").textContent = BADGE[answer.state] || answer.state;
    item.querySelector(".request-status").textContent = statusText(answer);
    item.querySelector(".request-controls").hidden = answer.state !== "pending";
    const code = item.querySelector(".request-code");
    if (answer.code) item.querySelector(".code").textContent = String(answer.code);
    code.hidden = !answer.code || answer.state !== "pending";
    if (answer.state === "approved" && answer.claims) {
      const c = answer.claims;
      item.querySelector(".claim-scope").textContent = c.scope;
      item.querySelector(".claim-sub").textContent = c.kid ? "authenticator key " + c.kid : c.sub;
      item.querySelector(".claim-iat").textContent = localTime(c.iat);
      item.querySelector(".claim-exp").textContent = localTime(c.exp);
      item.querySelector(".token").value = answer.token;
      item.querySelector(".request-result").hidden = false;
    }
  }

  async function pollRequest(item, id) {
    try {
      const answer = await api("api/request/" + encodeURIComponent(id));
      if (item.dataset.state !== "pending") return; // cancelled meanwhile
      update(item, answer);
      if (answer.state === "pending") setTimeout(() => pollRequest(item, id), POLL_MS);
    } catch (e) {
      item.querySelector(".request-status").textContent = e.message;
      setTimeout(() => pollRequest(item, id), POLL_MS * 3);
    }
  }

  // ------------------------------------------------------------------ start

  document.addEventListener("DOMContentLoaded", () => {
    $("pair-button").addEventListener("click", startPairing);
    window.addEventListener("resize", sizeQr);
    watchZoom();
    for (const button of document.querySelectorAll("[data-copy]")) {
      button.addEventListener("click", () => copy($(button.dataset.copy).value, button));
    }
    loadHem();
  });
})();
