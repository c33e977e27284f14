// Small wrappers over Chart.js so pages pass [[label, value], …] pairs and get a consistent look.
window.distributorCharts = (() => {
  const palette = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#d63384", "#198754", "#ffc107", "#0dcaf0"];
  const split = (pairs) => ({ labels: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) });
  const make = (id, type, pairs, extra = {}) => {
    const el = document.getElementById(id);
    if (!el || !window.Chart) return null;
    const { labels, values } = split(pairs);
    return new Chart(el, {
      type,
      data: { labels, datasets: [{ data: values, backgroundColor: palette.slice(0, values.length) }] },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, extra),
    });
  };
  // Several series over shared labels: datasets = [{label, data}, …]; data may be decimal strings.
  const series = (id, type, labels, datasets, { stacked = false, money = false } = {}) => {
    const el = document.getElementById(id);
    if (!el || !window.Chart) return null;
    const fmt = new Intl.NumberFormat(document.documentElement.lang || undefined, money ? { minimumFractionDigits: 2, maximumFractionDigits: 2 } : {});
    return new Chart(el, {
      type,
      data: {
        labels,
        datasets: datasets.map((d, i) => ({
          label: d.label,
          data: d.data.map(Number),
          borderColor: palette[i % palette.length],
          backgroundColor: type === "line" ? palette[i % palette.length] + "33" : palette[i % palette.length],
          fill: type === "line" && i === 0 ? "origin" : false,
          tension: 0.25,
          pointRadius: labels.length > 45 ? 0 : 2,
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt.format(c.parsed.y)}` } },
        },
        scales: {
          x: { stacked, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
          y: { stacked, beginAtZero: true, ticks: { callback: (v) => fmt.format(v) } },
        },
      },
    });
  };
  return {
    line: (id, labels, datasets, opts = {}) => series(id, "line", labels, datasets, opts),
    stackedBar: (id, labels, datasets, opts = {}) => series(id, "bar", labels, datasets, { ...opts, stacked: true }),
    doughnut: (id, pairs) => make(id, "doughnut", pairs, { plugins: { legend: { position: "bottom" } } }),
    bar: (id, pairs) => make(id, "bar", pairs, { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }),
  };
})();
