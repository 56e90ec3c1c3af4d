// The readiness report opened in headless Debian Chromium. `echoes report --from` renders the full
// fixture summary (fixtures/reports/summary_full.json); the test adds a measuring script to a copy
// of the page (the report itself carries no scripts), Chromium loads it from disk with no network
// and prints the DOM after the script ran, and the test reads the measurements: the gate table's
// rows laid out with a height, failing rows painted with the failing colour (the inline CSS
// applied), and the SVG plots' shapes with real extents (getBBox), so the plots were drawn, not
// only parsed.
//
// Chromium is found on PATH (scripts/bootstrap installs Debian's `chromium`); its absence is a
// failure naming the package, not a skip. Flags: --headless (no display), --no-sandbox (the gate
// often runs as root in containers, where Chromium's sandbox refuses to start),
// --disable-dev-shm-usage (small /dev/shm in containers), --disable-gpu, a throwaway profile.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

constexpr const char* kProbe = R"js(<script>
const visible = (list, test) => [...document.querySelectorAll(list)].filter(test).length;
const rows = [...document.querySelectorAll('#gate-table tr.gate')];
const failing = rows.filter(r => r.classList.contains('fail') || r.classList.contains('missing'));
const out = {
  gate_rows: rows.length,
  gate_rows_laid_out: rows.filter(r => r.getBoundingClientRect().height > 0).length,
  failing_rows: failing.length,
  failing_rows_painted: failing.filter(r => getComputedStyle(r.cells[0]).backgroundColor === 'rgb(255, 235, 233)').length,
  spectrum_paths: visible('path.spectrum', p => p.getBBox().width > 100 && p.getBBox().height > 10),
  histogram_bins: visible('rect.bin', r => r.getBBox().height > 0),
  coverage_bars: visible('rect.bar', r => r.getBBox().width > 0),
  pr_curves: visible('path.pr-curve', p => p.getBBox().width > 10),
  svgs_laid_out: visible('svg', s => s.getBoundingClientRect().width > 0),
  gate_table_top: document.getElementById('gate-table').getBoundingClientRect().top,
  load_section_top: document.getElementById('load').getBoundingClientRect().top,
};
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>)js";

TEST(ReportInChromium, GateTableAndPlotsAreDrawn) {
  ASSERT_EQ(shell("command -v chromium > /dev/null"), 0)
      << "Chromium is not installed: run scripts/bootstrap (Debian package chromium)";
  const fs::path dir = fs::path(::testing::TempDir()) / "report_in_chromium";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fs::path(ECHOES_FIXTURES_DIR) / "reports/summary_full.json", dir / "summary.json");
  ASSERT_EQ(shell(std::string("'") + ECHOES_BINARY + "' report --from '" + dir.string() + "' > /dev/null"), 0);
  std::string page = read(dir / "index.html");
  const std::size_t body_end = page.rfind("</body>");
  ASSERT_NE(body_end, std::string::npos);
  page.insert(body_end, kProbe);
  std::ofstream(dir / "probe.html", std::ios::binary) << page;

  // Bounded: Chromium starts in about a second on an idle machine and 6-8 s on 2 cores under a
  // load of 14; 120 s only stops a hung browser.
  const std::string command = "cd '" + dir.string() + "' && HOME='" + dir.string() +
                              "' timeout -k 5 120 chromium --headless --no-sandbox --disable-gpu "
                              "--disable-dev-shm-usage --no-first-run --user-data-dir='" +
                              (dir / "profile").string() + "' --window-size=1200,2000 --dump-dom 'file://" +
                              (dir / "probe.html").string() + "' > dom.html 2> chromium.log";
  ASSERT_EQ(shell(command), 0) << read(dir / "chromium.log");
  const std::string dom = read(dir / "dom.html");
  const std::string open = "<pre id=\"probe\">";
  const std::size_t start = dom.find(open);
  ASSERT_NE(start, std::string::npos) << "the probe did not run; Chromium said: " << read(dir / "chromium.log");
  const std::size_t end = dom.find("</pre>", start);
  const nlohmann::json measured = nlohmann::json::parse(dom.substr(start + open.size(), end - start - open.size()));

  const nlohmann::json summary = nlohmann::json::parse(read(dir / "summary.json"));
  EXPECT_EQ(measured["gate_rows"], summary["gates"].size()) << measured;
  EXPECT_EQ(measured["gate_rows_laid_out"], summary["gates"].size()) << measured;
  EXPECT_EQ(measured["failing_rows"], 4) << measured;
  EXPECT_EQ(measured["failing_rows_painted"], 4) << measured;
  EXPECT_EQ(measured["spectrum_paths"], summary["load"].size()) << measured;
  EXPECT_GT(measured["histogram_bins"].get<int>(), 4) << measured;
  EXPECT_EQ(measured["coverage_bars"], 2 * summary["coverage"]["components"].size()) << measured;
  EXPECT_EQ(measured["pr_curves"], 2) << measured;
  EXPECT_GE(measured["svgs_laid_out"].get<int>(), 10) << measured;
  EXPECT_LT(measured["gate_table_top"].get<double>(), measured["load_section_top"].get<double>()) << "gates first";
}

}  // namespace
