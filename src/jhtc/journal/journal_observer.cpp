// The engine's view of the journal: EngineObserver callbacks become journal lines.
#include <stdexcept>

#include "jhtc/journal.hpp"

namespace jhtc {

namespace {

class JournalObserver final : public EngineObserver {
 public:
  explicit JournalObserver(std::shared_ptr<JournalWriter> writer) : writer_(std::move(writer)) {}

  void on_queued(TaskId task, int calls) override { writer_->task_queued(task, calls); }
  void on_submitted(TaskId task, const std::string& job_id) override {
    writer_->task_submitted(task, job_id);
  }
  void on_running(TaskId task, const std::string& job_id) override {
    writer_->task_running(task, job_id);
  }
  void on_retried(TaskId task, const RetryNote& note) override {
    writer_->task_retried(task, note);
  }
  void on_finished(const TaskOutcome& outcome) override {
    switch (outcome.kind) {
      case OutcomeKind::done:
        writer_->task_done(outcome.task, outcome.usage);
        break;
      case OutcomeKind::failed:
      case OutcomeKind::refused:  // over the disk budget: a failure the monitor should show
        writer_->task_failed(outcome.task, outcome.reason, outcome.job_id, outcome.usage);
        break;
      case OutcomeKind::cancelled:
        writer_->task_cancelled(outcome.task);
        break;
    }
  }

 private:
  std::shared_ptr<JournalWriter> writer_;
};

}  // namespace

std::shared_ptr<EngineObserver> make_journal_observer(std::shared_ptr<JournalWriter> writer) {
  if (!writer) throw std::invalid_argument("make_journal_observer: null writer");
  return std::make_shared<JournalObserver>(std::move(writer));
}

}  // namespace jhtc
