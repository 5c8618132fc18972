#include "curses_view.hpp"

#include <curses.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "tree_rows.hpp"

namespace jhtc::monitor {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kPollBudget = 64u << 20;  // bytes per refresh while catching up
constexpr std::size_t kFailureRows = 5;

const char* const kHelp[] = {
    "jhtc-monitor: follows the metadata journals of joblib_htcondor runs",
    "",
    "  O           open a root batch (a run) from the list",
    "  Enter       in the list: open the selected run",
    "  Up/Down     move in the batch tree (also k/j, PgUp/PgDn)",
    "  Enter/Space expand or collapse the batch under the cursor",
    "  Right/Left  expand / collapse",
    "  r           re-read the journals now",
    "  ?           this help",
    "  q           quit (Esc closes a window)",
    "",
    "Top rows: one per recursion level: Calls (what the user wrote) and Jobs",
    "(joblib's groups of calls, one job each); then what the jobs used:",
    "core-hours, CPU hours, peak and median memory against request_mem, and",
    "jobs held for exceeding their memory. Bottom: elapsed time since the",
    "root started, throughput, estimated time left, shared-directory usage.",
    "",
    "Press any key to close this help.",
};

enum class Mode { main, open_list, help };

class View {
 public:
  View(RunCatalog& catalog, ViewOptions options) : catalog_(catalog), options_(std::move(options)) {
    if (!options_.root.empty()) select(options_.root);
  }

  int loop();

 private:
  void select(const std::string& root);
  void poll_if_due();
  void draw();
  void draw_run(int height, int width);
  int draw_tree(int top, int height, int width);
  void draw_open_list(int height, int width);
  void draw_help(int height, int width);
  bool handle_key(int key);  // false: quit
  void handle_main_key(int key);
  void handle_list_key(int key);
  void put(int y, int x, const std::string& text, int width, attr_t attr = A_NORMAL);

  RunCatalog& catalog_;
  ViewOptions options_;
  Mode mode_ = Mode::main;
  std::string root_;
  RunTail* tail_ = nullptr;
  TreeCursor tree_;
  std::vector<TreeRow> rows_;
  std::vector<RunListing> runs_;
  std::size_t list_cursor_ = 0;
  DiskUsage disk_;
  Clock::time_point last_poll_{};
  double refresh_ms_ = 0;
};

void View::select(const std::string& root) {
  root_ = root;
  tail_ = &catalog_.tail(root);
  tree_.reset(root);
  last_poll_ = Clock::time_point{};
}

void View::poll_if_due() {
  auto now = Clock::now();
  if (now - last_poll_ < std::chrono::duration<double>(options_.refresh_s)) return;
  last_poll_ = now;
  if (tail_) {
    tail_->poll(kPollBudget);
    if (!tail_->caught_up()) last_poll_ = Clock::time_point{};  // keep reading next turn
  }
  disk_ = disk_usage(options_.shared_dir);
}

void View::put(int y, int x, const std::string& text, int width, attr_t attr) {
  if (y < 0 || x >= width) return;
  attron(attr);
  mvaddnstr(y, x, text.c_str(), width - x);
  attroff(attr);
}

void View::draw() {
  int height = 0, width = 0;
  getmaxyx(stdscr, height, width);
  erase();
  std::string title = " jhtc-monitor";
  if (tail_) {
    RunFigures f = tail_->summary().figures(unix_now());
    title += " | root " + root_ + " | started " + format_clock(f.start_ts) + " | " + f.state;
  }
  title += "   [O]pen [?]help [q]uit";
  title.resize(static_cast<std::size_t>(std::max(width, 0)), ' ');
  put(0, 0, title, width, A_REVERSE);
  if (tail_) {
    draw_run(height, width);
  } else {
    put(2, 2, "No root batch open. Press O to choose a run under " + catalog_.journal_dir(), width);
  }
  if (mode_ == Mode::open_list) draw_open_list(height, width);
  if (mode_ == Mode::help) draw_help(height, width);
  refresh();
}

void View::draw_run(int height, int width) {
  const RunSummary& summary = tail_->summary();
  int y = 2;
  const auto levels = summary.levels();
  auto table = level_table(levels);
  for (std::size_t i = 0; i < table.size(); ++i)
    put(y++, 1, table[i], width, i == 0 ? A_BOLD : A_NORMAL);
  auto usage = usage_table(levels);
  for (std::size_t i = 0; i < usage.size(); ++i)
    put(y++, 1, usage[i], width, i == 0 ? A_BOLD : A_NORMAL);
  for (const std::string& hint : usage_hints(levels)) put(y++, 1, hint, width, A_BOLD);
  ++y;
  const auto& failures = summary.failures();
  std::size_t shown_failures = std::min(failures.size(), kFailureRows);
  int bottom_rows = 3 + (failures.empty() ? 0 : static_cast<int>(shown_failures) + 1);
  int tree_height = height - y - 1 - bottom_rows;
  put(y++, 1,
      "Batches (" + std::to_string(summary.batch_count()) +
          ")  Up/Down move, Enter expand/collapse",
      width, A_BOLD);
  y += draw_tree(y, std::max(tree_height, 0), width);
  y = height - bottom_rows;
  if (!failures.empty()) {
    put(y++, 1, "Failed tasks: " + std::to_string(failures.size()) + " (newest last)", width,
        A_BOLD);
    for (std::size_t i = failures.size() - shown_failures; i < failures.size(); ++i) {
      put(y++, 3, failure_line(failures[i]), width);
    }
  }
  for (const auto& line : footer_lines(summary.figures(unix_now()), disk_))
    put(y++, 1, line, width);
  char status[160];
  std::snprintf(status, sizeof status, "refresh %.0f ms | %zu journals | %s", refresh_ms_,
                tail_->files(), tail_->caught_up() ? "up to date" : "catching up...");
  std::string line = status;
  if (tail_->corrupt_lines() > 0) {
    line += " | " + std::to_string(tail_->corrupt_lines()) +
            " corrupt lines skipped, last: " + tail_->last_warning();
  }
  put(y, 1, line, width, A_DIM);
}

int View::draw_tree(int top, int height, int width) {
  rows_ = flatten_tree(tail_->summary(), tree_.expanded());
  tree_.move(0, rows_.size());  // clamp after the tree changed
  std::size_t first = tree_.scroll_for(static_cast<std::size_t>(height));
  int drawn = 0;
  for (std::size_t i = first; i < rows_.size() && drawn < height; ++i, ++drawn) {
    const TreeRow& row = rows_[i];
    attr_t attr = i == tree_.cursor() ? A_REVERSE : A_NORMAL;
    put(top + drawn, 1, batch_line(*row.batch, row.depth, row.marker(), width - 2), width, attr);
  }
  return drawn;
}

void View::draw_open_list(int height, int width) {
  int w = std::min(width - 4, 96), h = std::min(height - 4, static_cast<int>(runs_.size()) + 5);
  if (w < 20 || h < 5) return;
  WINDOW* win = newwin(h, w, (height - h) / 2, (width - w) / 2);
  werase(win);
  box(win, 0, 0);
  mvwaddnstr(win, 0, 2, " Open root batch: Enter select, Esc cancel ", w - 4);
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-19s %8s %7s  %s", "Root batch", "Started", "Tasks",
                "Batches", "State");
  wattron(win, A_BOLD);
  mvwaddnstr(win, 1, 2, line, w - 4);
  wattroff(win, A_BOLD);
  if (runs_.empty()) mvwaddnstr(win, 2, 2, "(no runs found)", w - 4);
  std::size_t visible = static_cast<std::size_t>(h - 3);
  std::size_t first = list_cursor_ >= visible ? list_cursor_ - visible + 1 : 0;
  for (std::size_t i = first; i < runs_.size() && i - first < visible; ++i) {
    const RunListing& r = runs_[i];
    std::snprintf(line, sizeof line, "%-24s %-19s %8zu %7zu  %s", r.root_batch_id.c_str(),
                  format_clock(r.start_ts).c_str(), r.tasks, r.batches, r.state.c_str());
    if (i == list_cursor_) wattron(win, A_REVERSE);
    mvwaddnstr(win, static_cast<int>(2 + i - first), 2, line, w - 4);
    if (i == list_cursor_) wattroff(win, A_REVERSE);
  }
  wnoutrefresh(stdscr);
  wnoutrefresh(win);
  delwin(win);
}

void View::draw_help(int height, int width) {
  int lines = static_cast<int>(sizeof kHelp / sizeof kHelp[0]);
  int w = std::min(width - 2, 78), h = std::min(height - 2, lines + 2);
  if (w < 20 || h < 3) return;
  WINDOW* win = newwin(h, w, (height - h) / 2, (width - w) / 2);
  werase(win);
  box(win, 0, 0);
  mvwaddnstr(win, 0, 2, " Help ", w - 4);
  for (int i = 0; i < lines && i < h - 2; ++i) mvwaddnstr(win, i + 1, 2, kHelp[i], w - 4);
  wnoutrefresh(stdscr);
  wnoutrefresh(win);
  delwin(win);
}

bool View::handle_key(int key) {
  if (key == KEY_RESIZE) return true;  // redrawn at the new size; must not close a window
  if (mode_ == Mode::help) {
    mode_ = Mode::main;
    return true;
  }
  if (mode_ == Mode::open_list) {
    handle_list_key(key);
    return true;
  }
  if (key == 'q' || key == 'Q') return false;
  handle_main_key(key);
  return true;
}

void View::handle_main_key(int key) {
  switch (key) {
    case 'O':
    case 'o':
      runs_ = catalog_.list(unix_now());
      list_cursor_ = 0;
      mode_ = Mode::open_list;
      break;
    case '?':
      mode_ = Mode::help;
      break;
    case 'r':
      last_poll_ = Clock::time_point{};
      break;
    case KEY_UP:
    case 'k':
      tree_.move(-1, rows_.size());
      break;
    case KEY_DOWN:
    case 'j':
      tree_.move(1, rows_.size());
      break;
    case KEY_PPAGE:
      tree_.move(-10, rows_.size());
      break;
    case KEY_NPAGE:
      tree_.move(10, rows_.size());
      break;
    case KEY_RIGHT:
      tree_.toggle(rows_, TreeCursor::Toggle::expand);
      break;
    case KEY_LEFT:
      tree_.toggle(rows_, TreeCursor::Toggle::collapse);
      break;
    case '\n':
    case '\r':
    case KEY_ENTER:
    case ' ':
      tree_.toggle(rows_, TreeCursor::Toggle::flip);
      break;
    default:
      break;
  }
}

void View::handle_list_key(int key) {
  switch (key) {
    case KEY_UP:
    case 'k':
      list_cursor_ = list_cursor_ > 0 ? list_cursor_ - 1 : 0;
      break;
    case KEY_DOWN:
    case 'j':
      list_cursor_ = std::min(list_cursor_ + 1, runs_.empty() ? 0 : runs_.size() - 1);
      break;
    case '\n':
    case '\r':
    case KEY_ENTER:
      if (list_cursor_ < runs_.size()) select(runs_[list_cursor_].root_batch_id);
      mode_ = Mode::main;
      break;
    case 27:
    case 'q':
      mode_ = Mode::main;
      break;
    default:
      break;
  }
}

int View::loop() {
  bool dirty = true;
  while (true) {
    auto start = Clock::now();
    auto before = last_poll_;
    poll_if_due();
    if (last_poll_ != before) dirty = true;
    if (dirty) {
      draw();
      refresh_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      dirty = false;
    }
    int key = getch();  // waits up to the timeout set in run_curses
    if (key == ERR) continue;
    if (!handle_key(key)) return 0;
    dirty = true;
  }
}

}  // namespace

int run_curses(RunCatalog& catalog, const ViewOptions& options) {
  // The terminal's real size (ioctl), not a $COLUMNS/$LINES inherited from a shell
  // or a test runner: ncurses prefers those when they are set.
  // NOLINTNEXTLINE(concurrency-mt-unsafe): jhtc-monitor is single-threaded.
  ::unsetenv("COLUMNS");
  // NOLINTNEXTLINE(concurrency-mt-unsafe): jhtc-monitor is single-threaded.
  ::unsetenv("LINES");
  if (!initscr()) {
    std::fprintf(stderr, "jhtc-monitor: cannot initialise the terminal\n");
    return 1;
  }
  cbreak();
  noecho();
  keypad(stdscr, TRUE);
  curs_set(0);
  set_escdelay(25);
  timeout(100);
  int code = View(catalog, options).loop();
  endwin();
  return code;
}

}  // namespace jhtc::monitor
