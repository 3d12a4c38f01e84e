(function () {
  "use strict";
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  var options = {
    ast: true, // interpret expressions: no eval, so the page's CSP needs no 'unsafe-eval'
    renderer: "svg",
    actions: { export: true, source: false, compiled: false, editor: false },
    tooltip: { theme: dark ? "dark" : "light" }
  };
  if (dark) { options.theme = "dark"; }
  var specs = document.querySelectorAll("script[type='application/json'][data-chart]");
  Array.prototype.forEach.call(specs, function (node) {
    var target = document.getElementById(node.getAttribute("data-chart"));
    if (!target) { return; }
    vegaEmbed(target, JSON.parse(node.textContent), options).then(function () {
      target.setAttribute("data-rendered", "true");
      // the static drawing is for readers without JavaScript (email, locked-down viewers)
      var still = document.querySelector("[data-static-for='" + target.id + "']");
      if (still) { still.parentNode.removeChild(still); }
    }).catch(function (error) {
      target.textContent = "This chart could not be drawn: " + error;
      target.setAttribute("data-rendered", "error");
      console.error(error);
    });
  });
})();
