// Signing with a USB token through the local signer agent (hocba signer-agent).
// The PIN goes to the agent on this computer only; the server sends digests and gets values.
// The words come from the page (data-text-* on the form), in the user's language.
(function () {
  "use strict";
  function fill(text, values) {
    return (text || "").replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }
  async function json(url, body, csrf, texts) {
    var sameOrigin = Boolean(csrf);
    var headers = { "Content-Type": "application/json" };
    if (sameOrigin) headers["X-CSRFToken"] = csrf;
    var response = await fetch(url, {
      method: "POST", headers: headers, body: JSON.stringify(body),
      credentials: sameOrigin ? "same-origin" : "omit",
    });
    var data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      var err = data.error || {};
      var message = typeof err === "string" ? (data.message || err) : (err.message || fill(texts.textError, { status: response.status }));
      throw new Error(message);
    }
    return data;
  }
  function sign(form) {
    var status = form.querySelector(".sign-status");
    var bar = form.querySelector("progress");
    var button = form.querySelector("button");
    var agent = form.dataset.agent.replace(/\/$/, "");
    var token = { token: form.token.value, key: form.key.value, pin: form.pin.value };
    var texts = form.dataset;
    button.disabled = true;
    bar.hidden = false;
    status.textContent = texts.textReading;
    (async function () {
      try {
        var cert = await json(agent + "/v1/certificate", token, "", texts);
        status.textContent = texts.textPreparing;
        var prepared = await json(form.dataset.prepare, { group: form.dataset.group, certificate: cert.certificate }, form.dataset.csrf, texts);
        bar.max = prepared.total || 1;
        status.textContent = texts.textSigning;
        var signed = await json(agent + "/v1/sign", Object.assign({ digests: prepared.digests }, token), "", texts);
        var values = {};
        prepared.digests.forEach(function (d, i) { values[d] = signed.signatures[i]; });
        var state = { finished: prepared.total === 0, done: 0, total: prepared.total, signed: 0, failed: prepared.failed };
        while (!state.finished) {
          state = await json(form.dataset.complete, { session: prepared.session, values: values }, form.dataset.csrf, texts);
          bar.value = state.done;
          status.textContent = fill(texts.textProgress, {
            done: state.done, total: state.total,
            percent: Math.round(100 * state.done / Math.max(1, state.total)) + "%",
          });
        }
        status.textContent = fill(texts.textDone, { percent: "100%", signed: state.signed }) +
          (state.failed.length ? fill(texts.textSomeFailed, { failed: state.failed.length }) : "") + ".";
        form.pin.value = "";
        setTimeout(function () { window.location.reload(); }, 1200);
      } catch (error) {
        status.textContent = fill(texts.textFailed, { error: error.message });
        button.disabled = false;
      }
    })();
  }
  document.querySelectorAll("form.agent-sign").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); sign(form); });
  });
})();
