// jhtc-monitor --report FILE: the HTML report is drawn in Python (matplotlib's SVG
// backend; docs/monitor.md says why), so the monitor hands the request to
// `python -m joblib_htcondor.ui --path DIR --report FILE [--root ID]`, which reads the
// same C++ report model through _core. No report code is duplicated here.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace jhtc::monitor {

// The interpreter to run: `python_env` ($JHTC_PYTHON, which joblib_htcondor.ui sets
// when it execs the monitor) when not empty, else python3 beside the monitor's own
// executable (a virtualenv's bin/), else "python3" (looked up on PATH).
std::string report_python(const std::string& python_env, const std::string& self_dir,
                          const std::function<bool(const std::string&)>& is_executable);

std::vector<std::string> report_command(const std::string& python, const std::string& path,
                                        const std::string& report, const std::string& root);

// Replaces the process with report_command(); returns 2 (after saying why on stderr)
// only when the interpreter cannot be started.
int exec_report(const std::string& path, const std::string& report, const std::string& root);

}  // namespace jhtc::monitor
