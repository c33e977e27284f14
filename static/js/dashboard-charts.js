// Staff dashboard: the funded-float trend (gaps where a day has no snapshot), the customer mix charts,
// and the formula tooltips, from the page's json_script blocks (no inline script: CSP).
document.addEventListener("DOMContentLoaded", () => {
  const data = (id) => {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  };
  const trend = data("data-float");
  const canvas = document.getElementById("chart-float");
  if (trend && canvas && window.Chart) {
    const fmt = new Intl.NumberFormat(document.documentElement.lang || undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    new Chart(canvas, {
      type: "line",
      data: {
        labels: trend.labels,
        datasets: [{
          label: canvas.dataset.label,
          data: trend.values.map((v) => (v === null ? null : Number(v))),
          borderColor: "#0d6efd",
          backgroundColor: "#0d6efd33",
          fill: "origin",
          tension: 0.25,
          pointRadius: 0,
          spanGaps: false,
        }],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt.format(c.parsed.y)}` } },
        },
        scales: {
          x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
          y: { ticks: { callback: (v) => fmt.format(v) } },
        },
      },
    });
    canvas.dataset.rendered = "true";
  }
  if (data("data-mode")) distributorCharts.doughnut("chart-mode", data("data-mode"));
  if (data("data-kind")) distributorCharts.bar("chart-kind", data("data-kind"));
  if (window.bootstrap) {
    document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach((el) => new bootstrap.Tooltip(el));
  }
});
