// Customer risk: the ten largest exposures' shares of the total (bars) and their running sum (line).
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("risk-chart");
  if (!el || !window.Chart) return;
  const data = JSON.parse(document.getElementById("risk-chart-data").textContent);
  const t = JSON.parse(document.getElementById("risk-chart-labels").textContent);
  const fmt = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 2 });
  new Chart(el, {
    data: {
      labels: data.labels,
      datasets: [
        { type: "bar", label: t.share, data: data.shares.map(Number), backgroundColor: "#0d6efd" },
        { type: "line", label: t.cumulative, data: data.cumulative.map(Number), borderColor: "#fd7e14", backgroundColor: "#fd7e14", tension: 0.2, pointRadius: 2 },
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt.format(c.parsed.y)}%` } },
      },
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true } },
        y: { beginAtZero: true, max: 100, ticks: { callback: (v) => `${fmt.format(v)}%` } },
      },
    },
  });
  el.dataset.ready = "1";
});
