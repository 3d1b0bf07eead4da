// Signing with a USB token through the local signer agent (hocba signer-agent).
// The PIN goes to the agent on this computer only; the server sends digests and gets values.
(function () {
  "use strict";
  async function json(url, body, csrf) {
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
      var message = typeof err === "string" ? (data.message || err) : (err.message || "Lỗi " + response.status);
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
    button.disabled = true;
    bar.hidden = false;
    status.textContent = "Đang đọc chứng thư số từ token…";
    (async function () {
      try {
        var cert = await json(agent + "/v1/certificate", token, "");
        status.textContent = "Đang chuẩn bị…";
        var prepared = await json(form.dataset.prepare, { group: form.dataset.group, certificate: cert.certificate }, form.dataset.csrf);
        bar.max = prepared.total || 1;
        status.textContent = "Đang ký trên token…";
        var signed = await json(agent + "/v1/sign", Object.assign({ digests: prepared.digests }, token), "");
        var values = {};
        prepared.digests.forEach(function (d, i) { values[d] = signed.signatures[i]; });
        var state = { finished: prepared.total === 0, done: 0, total: prepared.total, signed: 0, failed: prepared.failed };
        while (!state.finished) {
          state = await json(form.dataset.complete, { session: prepared.session, values: values }, form.dataset.csrf);
          bar.value = state.done;
          status.textContent = "Đã ký " + state.done + "/" + state.total + " (" + Math.round(100 * state.done / Math.max(1, state.total)) + "%)";
        }
        status.textContent = "Hoàn tất 100%: đã ký " + state.signed + " học bạ" + (state.failed.length ? ", " + state.failed.length + " không ký được" : "") + ".";
        form.pin.value = "";
        setTimeout(function () { window.location.reload(); }, 1200);
      } catch (error) {
        status.textContent = "Không ký được: " + error.message;
        button.disabled = false;
      }
    })();
  }
  document.querySelectorAll("form.agent-sign").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); sign(form); });
  });
})();
