#include "htcondor/file_transfer.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "htcondor/submit_description.hpp"

namespace jhtc::htcondor {
namespace {

JobTemplate transfer_template() {
  JobTemplate t;
  t.batch_name = "jhtc-L0-b3";
  t.batch_dir = "/work/run/batches/b3";
  t.log_dir = "/work/run/batches/b3/logs";
  t.python = "/usr/bin/python3";
  t.worker_args = {"-m", "joblib_htcondor.worker"};
  t.file_transfer.root = "/work/run";
  t.file_transfer.common_inputs = {"/work/run/.keys/1000/hmac.key"};
  return t;
}

JobRequest job_with_inputs(std::vector<std::string> inputs) {
  JobRequest job{7, 1, "/work/run/batches/b3/tasks/7.task"};
  job.result_file = "/work/run/batches/b3/tasks/7.result";
  job.input_files = std::move(inputs);
  return job;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

std::string refusal_for(const JobTemplate& t, const JobRequest& job,
                        const HTCondorOptions& options = {}) {
  try {
    build_submit_description(t, options, std::vector<JobRequest>{job},
                             "/work/run/batches/b3/items");
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

TEST(FileTransfer, TransfersTheTaskTheKeyAndEachBlobOnceAndBringsTheResultBack) {
  const std::string blob = "/work/run/store/sha256/ab/ab12";
  const auto jobs = std::vector<JobRequest>{
      job_with_inputs({blob, "/work/run/store/sha256/cd/cd34", blob, blob})};
  const SubmitText text =
      build_submit_description(transfer_template(), {}, jobs, "/work/run/batches/b3/items");
  EXPECT_TRUE(has_line(text.description, "should_transfer_files = YES"));
  EXPECT_FALSE(has_line(text.description, "should_transfer_files = NO"));
  EXPECT_TRUE(has_line(text.description, "when_to_transfer_output = ON_EXIT"));
  EXPECT_TRUE(has_line(text.description, "preserve_relative_paths = true"));
  EXPECT_TRUE(has_line(text.description, "initialdir = /work/run"));
  EXPECT_TRUE(has_line(text.description, "transfer_input_files = $(job_inputs)"));
  EXPECT_TRUE(has_line(text.description, "transfer_output_files = $(result_dir)"));
  EXPECT_TRUE(has_line(text.description,
                       "queue task_id,attempt,task_file,result_dir,job_inputs "
                       "from /work/run/batches/b3/items"));
  // the event log and the job's stdout/stderr stay on the submit side
  EXPECT_TRUE(has_line(text.description, "log = /work/run/batches/b3/condor.log"));
  EXPECT_EQ(text.items,
            "7,1,batches/b3/tasks/7.task,batches/b3/tasks,.keys/1000/hmac.key,"
            "batches/b3/tasks/7.task,store/sha256/ab/ab12,store/sha256/cd/cd34\n");
}

TEST(FileTransfer, WithoutItTheJobsReadTheSharedFilesystem) {
  JobTemplate t = transfer_template();
  t.file_transfer = {};
  const SubmitText text = build_submit_description(
      t, {}, std::vector<JobRequest>{job_with_inputs({"/work/run/store/sha256/ab/ab12"})}, "");
  EXPECT_TRUE(has_line(text.description, "should_transfer_files = NO"));
  EXPECT_EQ(text.description.find("transfer_input_files"), std::string::npos);
  EXPECT_TRUE(has_line(text.description, "7,1,/work/run/batches/b3/tasks/7.task"));
}

TEST(FileTransfer, RefusesAnInputOutsideTheRoot) {
  const std::string message =
      refusal_for(transfer_template(), job_with_inputs({"/etc/../work/other/secret"}));
  EXPECT_NE(message.find("input_files: \"/etc/../work/other/secret\" is not below the root"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("accepted: an absolute path below the file-transfer root"),
            std::string::npos);
}

TEST(FileTransfer, RefusesAPathThatWouldSplitATransferList) {
  for (const std::string bad : {"/work/run/a,b", "/work/run/a b", "/work/run/$(x)",
                                "/work/run/a\nqueue", "/work/run/a\"b"}) {
    const std::string message = refusal_for(transfer_template(), job_with_inputs({bad}));
    EXPECT_TRUE(message.starts_with("input_files: ")) << bad << ": " << message;
  }
}

TEST(FileTransfer, RefusesInitialDirAndTransferKeysInExtraDirectives) {
  EXPECT_TRUE(refusal_for(transfer_template(), job_with_inputs({}), {.initial_dir = "/elsewhere"})
                  .starts_with("initial_dir: "));
  EXPECT_NE(refusal_for(transfer_template(), job_with_inputs({}),
                        {.extra_directives = {{"Transfer_Input_Files", "/etc/passwd"}}})
                .find("\"Transfer_Input_Files\" is set by the "
                      "driver's file transfer"),
            std::string::npos);
}

TEST(FileTransfer, RefusesAResultThatIsNotBesideItsTaskFile) {
  JobRequest job = job_with_inputs({});
  job.result_file = "/work/run/batches/b3/results/7.result";
  EXPECT_TRUE(refusal_for(transfer_template(), job).starts_with("result_file: "))
      << job.result_file;
}

TEST(FileTransfer, RefusesARelativeRoot) {
  JobTemplate t = transfer_template();
  t.file_transfer.root = "work/run";
  EXPECT_TRUE(refusal_for(t, job_with_inputs({})).starts_with("file_transfer.root: "));
}

}  // namespace
}  // namespace jhtc::htcondor
