#include "report_delegate.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "util/errno_text.hpp"

namespace jhtc::monitor {

std::string report_python(const std::string& python_env, const std::string& self_dir,
                          const std::function<bool(const std::string&)>& is_executable) {
  if (!python_env.empty()) return python_env;
  if (!self_dir.empty()) {
    std::string beside = (std::filesystem::path(self_dir) / "python3").string();
    if (is_executable(beside)) return beside;
  }
  return "python3";
}

std::vector<std::string> report_command(const std::string& python, const std::string& path,
                                        const std::string& report, const std::string& root) {
  std::vector<std::string> command{python,     "-m",  "joblib_htcondor.ui", "--path", path,
                                   "--report", report};
  if (!root.empty()) {
    command.emplace_back("--root");
    command.push_back(root);
  }
  return command;
}

int exec_report(const std::string& path, const std::string& report, const std::string& root) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): jhtc-monitor is single-threaded.
  const char* env = std::getenv("JHTC_PYTHON");
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::string python =
      report_python(env ? env : "", ec ? std::string() : self.parent_path().string(),
                    [](const std::string& file) { return ::access(file.c_str(), X_OK) == 0; });
  std::vector<std::string> command = report_command(python, path, report, root);
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::cerr << "jhtc-monitor: --report needs Python with joblib_htcondor (it draws the charts); "
            << "cannot start " << python << ": " << jhtc::util::errno_text(errno)
            << " (set JHTC_PYTHON to the interpreter, or run python -m joblib_htcondor.ui "
               "--path DIR --report FILE)\n";
  return 2;
}

}  // namespace jhtc::monitor
