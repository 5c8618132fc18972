#include "report_delegate.hpp"

#include <gtest/gtest.h>

namespace jhtc::monitor {
namespace {

TEST(ReportDelegate, JhtcPythonWinsOverEverything) {
  EXPECT_EQ(
      report_python("/opt/py/bin/python", "/venv/bin", [](const std::string&) { return true; }),
      "/opt/py/bin/python");
}

TEST(ReportDelegate, PythonBesideTheMonitorIsTheVirtualenvs) {
  auto only_venv = [](const std::string& file) { return file == "/venv/bin/python3"; };
  EXPECT_EQ(report_python("", "/venv/bin", only_venv), "/venv/bin/python3");
  EXPECT_EQ(report_python("", "/usr/local/bin", only_venv), "python3") << "else PATH's python3";
}

TEST(ReportDelegate, CommandPassesPathReportAndRootOnlyWhenGiven) {
  EXPECT_EQ(report_command("py", "/data", "run.html", ""),
            (std::vector<std::string>{"py", "-m", "joblib_htcondor.ui", "--path", "/data",
                                      "--report", "run.html"}));
  auto with_root = report_command("py", "/data", "run.html", "abc");
  ASSERT_EQ(with_root.size(), 9u);
  EXPECT_EQ(with_root[7], "--root");
  EXPECT_EQ(with_root[8], "abc");
}

}  // namespace
}  // namespace jhtc::monitor
