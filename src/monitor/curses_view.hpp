// The live terminal UI (ncurses). Draws what format.hpp and tree_rows.hpp compute;
// holds no figures of its own.
#pragma once

#include <string>

#include "run_catalog.hpp"

namespace jhtc::monitor {

struct ViewOptions {
  std::string shared_dir;  // statvfs'd for the filesystem usage
  std::string root;        // open this root at start (empty: wait for `O`)
  double refresh_s = 1.0;  // how often journals are re-read
};

// Runs until the user presses q. Returns the process exit code.
int run_curses(RunCatalog& catalog, const ViewOptions& options);

}  // namespace jhtc::monitor
