#include "htcondor/submit_description.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>

namespace jhtc::htcondor {
namespace {

JobTemplate sample_template() {
  JobTemplate t;
  t.batch_name = "jhtc-run1-L0-b3";
  t.batch_dir = "/shared/run1/b3";
  t.log_dir = "/shared/run1/b3/logs";
  t.python = "/usr/bin/python3";
  t.worker_args = {"-m", "joblib_htcondor.worker"};
  t.cpus = 2;
  t.memory_mb = 512;
  t.disk_mb = 0;
  t.priority = 5;
  return t;
}

HTCondorOptions sample_options() {
  HTCondorOptions o;
  o.lineage = "jhtc-run1-L0-b1/jhtc-run1-L1-b3";
  return o;
}

std::vector<JobRequest> sample_jobs() {
  return {{7, 0, "/shared/run1/b3/tasks/7.task"}, {8, 2, "/shared/run1/b3/tasks/8.task"}};
}

// The description of sample_jobs() with the sample options.
SubmitText build(const JobTemplate& t, const std::string& item_file = "",
                 const HTCondorOptions& o = sample_options()) {
  const auto jobs = sample_jobs();
  return build_submit_description(t, o, jobs, item_file);
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// Runs `build` and returns the std::invalid_argument message ("" if none was thrown).
template <typename F>
std::string refusal(F build) {
  try {
    build();
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

std::string refusal_for(const JobTemplate& t, std::vector<JobRequest> jobs = sample_jobs(),
                        const HTCondorOptions& o = sample_options()) {
  return refusal([&] { build_submit_description(t, o, jobs, "/shared/run1/b3/items.txt"); });
}

std::string refusal_with(const HTCondorOptions& o) {
  return refusal_for(sample_template(), sample_jobs(), o);
}

TEST(SubmitDescription, QueuesEveryJobOfTheBatchFromTheItemFile) {
  const SubmitText text = build(sample_template(), "/shared/run1/b3/items.txt");
  EXPECT_TRUE(
      has_line(text.description,
               "queue task_id,attempt,job_memory_mb,task_file from /shared/run1/b3/items.txt"));
  EXPECT_EQ(text.items,
            "7,0,512,/shared/run1/b3/tasks/7.task\n8,2,512,/shared/run1/b3/tasks/8.task\n");
  // exactly one queue statement: one cluster, one transaction
  EXPECT_EQ(text.description.find("\nqueue"), text.description.rfind("\nqueue"));
}

TEST(SubmitDescription, InlineItemsWhenNoItemFileIsGiven) {
  const SubmitText text = build(sample_template());
  EXPECT_TRUE(text.items.empty());
  EXPECT_NE(text.description.find("queue task_id,attempt,job_memory_mb,task_file from (\n"
                                  "7,0,512,/shared/run1/b3/tasks/7.task\n"
                                  "8,2,512,/shared/run1/b3/tasks/8.task\n)\n"),
            std::string::npos);
}

TEST(SubmitDescription, WritesTheJobDescription) {
  HTCondorOptions o = sample_options();
  o.initial_dir = "/shared/run1";
  o.universe = "vanilla";
  const std::string d = build(sample_template(), "/x/items", o).description;
  for (const char* line :
       {"universe = vanilla", "executable = /usr/bin/python3",
        "arguments = \"'-m' 'joblib_htcondor.worker' '$(task_file)' $(attempt)\"",
        "transfer_executable = false", "should_transfer_files = NO",
        "log = /shared/run1/b3/condor.log",
        "output = /shared/run1/b3/logs/$(task_id).$(attempt).out",
        "error = /shared/run1/b3/logs/$(task_id).$(attempt).err", "request_cpus = 2",
        "request_memory = $(job_memory_mb)", "priority = 5", "batch_name = jhtc-run1-L0-b3",
        "+JhtcLineage = \"jhtc-run1-L0-b1/jhtc-run1-L1-b3\"", "+JhtcTask = $(task_id)",
        "+JhtcAttempt = $(attempt)", "getenv = CONDOR_CONFIG, PATH", "initialdir = /shared/run1"}) {
    EXPECT_TRUE(has_line(d, line)) << line << "\n---\n" << d;
  }
  EXPECT_EQ(d.find("request_disk"), std::string::npos);  // 0: left to the scheduler
  EXPECT_EQ(d.find("request_gpus"), std::string::npos);  // 0: no GPU, not even "= 0"
  EXPECT_EQ(d.find("environment"), std::string::npos);
}

TEST(SubmitDescription, EachJobCarriesItsOwnMemoryRequest) {
  std::vector<JobRequest> jobs = sample_jobs();
  jobs[1].memory_mb = 2048;  // a retry after a memory hold asks for more than its batch
  const SubmitText text =
      build_submit_description(sample_template(), sample_options(), jobs, "/x/items");
  EXPECT_EQ(text.items,
            "7,0,512,/shared/run1/b3/tasks/7.task\n8,2,2048,/shared/run1/b3/tasks/8.task\n");
  JobTemplate no_memory = sample_template();
  no_memory.memory_mb = 0;
  EXPECT_NE(refusal_for(no_memory, jobs).find("memory_mb: a job asks for memory"),
            std::string::npos);
  jobs[1].memory_mb = 0;
  const SubmitText plain = build_submit_description(no_memory, sample_options(), jobs, "/x/items");
  EXPECT_TRUE(has_line(plain.description, "queue task_id,attempt,task_file from /x/items"));
  EXPECT_EQ(plain.description.find("request_memory"), std::string::npos);
}

TEST(SubmitDescription, AsksForGpusOnlyWhenTheLevelDoes) {
  JobTemplate t = sample_template();
  t.gpus = 2;
  EXPECT_TRUE(has_line(build(t).description, "request_gpus = 2"));
  t.gpus = -1;
  EXPECT_NE(refusal_for(t).find("request_gpus: is negative"), std::string::npos);
}

TEST(SubmitDescription, LineageDefaultsToTheBatchNameAndDiskIsInKiB) {
  JobTemplate t = sample_template();
  t.disk_mb = 3;
  const std::string d = build(t, "", HTCondorOptions{}).description;
  EXPECT_TRUE(has_line(d, "+JhtcLineage = \"jhtc-run1-L0-b3\""));
  EXPECT_TRUE(has_line(d, "request_disk = 3072"));
}

TEST(SubmitDescription, QuotesArgumentsInTheNewSyntax) {
  EXPECT_EQ(quote_arguments({"-c", "exit 0", "it's", "say \"hi\"", ""}),
            "'-c' 'exit 0' 'it''s' 'say \"\"hi\"\"' ''");
}

TEST(SubmitDescription, QuotesTheEnvironmentInTheNewSyntax) {
  EXPECT_EQ(quote_environment({{"A", "1"}, {"B", "spacey 'quoted' \"value\""}}),
            "'A=1' 'B=spacey ''quoted'' \"\"value\"\"'");
}

TEST(SubmitDescription, AppendsExtraDirectivesOnePerLine) {
  HTCondorOptions o = sample_options();
  o.extra_directives = {{"requirements", "(OpSys == \"LINUX\")"},
                        {"+ProjectName", "\"ml\""},
                        {"  max_retries", "3  "}};
  const std::string d = build(sample_template(), "", o).description;
  EXPECT_TRUE(has_line(d, "requirements = (OpSys == \"LINUX\")"));
  EXPECT_TRUE(has_line(d, "+ProjectName = \"ml\""));
  EXPECT_TRUE(has_line(d, "max_retries = 3"));
  EXPECT_LT(d.find("max_retries"), d.find("\nqueue"));
}

TEST(SubmitDescription, RefusesExtraDirectivesThatAreNotASubmitCommand) {
  const auto check = [](std::string key, std::string value) {
    return refusal([&] { checked_extra_directives({{key, value}}); });
  };
  EXPECT_NE(check("bad key", "1").find("not a valid key"), std::string::npos);
  EXPECT_NE(check("include :", "/etc/passwd").find("not a valid key"), std::string::npos);
  EXPECT_NE(check("", "1").find("not a valid key"), std::string::npos);
  EXPECT_NE(check("request_gpus", " ").find("has no value"), std::string::npos);
  EXPECT_NE(check("+A", "\"x").find("unbalanced double quote"), std::string::npos);
  EXPECT_NE(check("requirements", "x \\").find("backslash"), std::string::npos);
  EXPECT_NE(check("+A", std::string("a\0b", 3)).find("control character"), std::string::npos);
  EXPECT_NE(check("+A", "a\rqueue").find("control character"), std::string::npos);
  EXPECT_NE(check("+A", "a\nqueue 5").find("control character"), std::string::npos);
}

TEST(SubmitDescription, RefusesExtraDirectivesOverridingWhatTheDriverOwns) {
  for (const char* key : {"queue", "Queue", "log", "executable", "arguments", "args", "log_xml",
                          "batch_name", "+JobBatchName", "MY.JhtcLineage", "+JhtcTask"}) {
    const std::string message = refusal([&] { checked_extra_directives({{key, "1"}}); });
    EXPECT_NE(message.find("set by the driver"), std::string::npos) << key;
    EXPECT_NE(message.find("extra_directives"), std::string::npos) << key;
  }
}

TEST(SubmitDescription, RefusesValuesThatCouldInjectCommands) {
  using Spoil = std::function<void(JobTemplate&, HTCondorOptions&)>;
  const auto in_template = [](std::function<void(JobTemplate&)> spoil) -> Spoil {
    return [spoil](JobTemplate& t, HTCondorOptions&) { spoil(t); };
  };
  const std::vector<std::pair<std::string, Spoil>> cases = {
      {"batch_dir", in_template([](JobTemplate& t) { t.batch_dir = "/a\nqueue 1000"; })},
      {"log_dir", in_template([](JobTemplate& t) { t.log_dir = "/a\"b"; })},
      {"log_dir", in_template([](JobTemplate& t) { t.log_dir = "/a/$(ENV(HOME))"; })},
      {"batch_dir", in_template([](JobTemplate& t) { t.batch_dir = "/a\\"; })},
      {"batch_dir", in_template([](JobTemplate& t) { t.batch_dir = std::string("/a\0b", 4); })},
      {"python", in_template([](JobTemplate& t) { t.python = "python3"; })},
      {"python", in_template([](JobTemplate& t) { t.python = "/usr/bin/python3 "; })},
      {"batch_name", in_template([](JobTemplate& t) { t.batch_name = "x\" || true || \""; })},
      {"lineage", [](JobTemplate&, HTCondorOptions& o) { o.lineage = "a b"; }},
      {"universe", [](JobTemplate&, HTCondorOptions& o) { o.universe = "vanilla\nqueue"; }},
      {"initial_dir", [](JobTemplate&, HTCondorOptions& o) { o.initial_dir = "/x'y"; }},
      {"worker_args", in_template([](JobTemplate& t) { t.worker_args = {"a\nqueue"}; })},
      {"worker_args", in_template([](JobTemplate& t) { t.worker_args = {"$(Cluster)"}; })},
      {"environment", in_template([](JobTemplate& t) {
         t.environment = {{"A B", "1"}};
       })},
      {"environment", in_template([](JobTemplate& t) {
         t.environment = {{"A", "1\n2"}};
       })},
      {"cpus", in_template([](JobTemplate& t) { t.cpus = -1; })},
      {"memory_mb", in_template([](JobTemplate& t) { t.memory_mb = -5; })},
  };
  for (const auto& [parameter, spoil] : cases) {
    JobTemplate t = sample_template();
    HTCondorOptions o = sample_options();
    spoil(t, o);
    const std::string message = refusal_for(t, sample_jobs(), o);
    EXPECT_NE(message.find(parameter), std::string::npos) << parameter << ": [" << message << "]";
    EXPECT_NE(message.find("accepted"), std::string::npos) << message;
  }
}

TEST(SubmitDescription, RefusesBadJobsAndItemFiles) {
  EXPECT_NE(refusal_for(sample_template(), {}).find("jobs"), std::string::npos);
  EXPECT_NE(refusal_for(sample_template(), {{1, 0, "relative/t.task"}}).find("absolute"),
            std::string::npos);
  EXPECT_NE(refusal_for(sample_template(), {{1, 0, "/a\n2,0,/b"}}).find("task_file"),
            std::string::npos);
  EXPECT_NE(refusal_for(sample_template(), {{1, -1, "/a"}}).find("attempt"), std::string::npos);
  const auto jobs = sample_jobs();
  EXPECT_NE(refusal([&] {
              build_submit_description(sample_template(), sample_options(), jobs,
                                       "/bin/make-items |");
            }).find("item_file"),
            std::string::npos);
}

TEST(SubmitDescription, LevelAndEventLogOptionsAreWritten) {
  HTCondorOptions o = sample_options();
  o.level = 1;
  o.event_log = "/kept/logs/b3/condor.log";
  const std::string d = build(sample_template(), "/shared/run1/b3/items.txt", o).description;
  EXPECT_TRUE(has_line(d, "+JhtcLevel = 1")) << d;
  EXPECT_TRUE(has_line(d, "log = /kept/logs/b3/condor.log")) << d;
  const std::string plain = build(sample_template()).description;
  EXPECT_TRUE(has_line(plain, "log = /shared/run1/b3/condor.log"));
  EXPECT_EQ(plain.find("JhtcLevel"), std::string::npos);  // no level: no attribute
}

TEST(SubmitDescription, RefusesABadLevelOrEventLog) {
  for (int bad : {-1, 1000}) {
    HTCondorOptions o = sample_options();
    o.level = bad;
    EXPECT_NE(refusal_with(o).find("level: "), std::string::npos) << bad;
  }
  HTCondorOptions o = sample_options();
  o.event_log = "/x\nqueue";
  EXPECT_NE(refusal_with(o).find("event_log: "), std::string::npos);
  HTCondorOptions u = sample_options();
  u.extra_directives = {{"+JhtcLevel", "0"}};
  EXPECT_NE(refusal_with(u).find("cannot be overridden"), std::string::npos);
}

}  // namespace
}  // namespace jhtc::htcondor

namespace jhtc::htcondor {
namespace {

TEST(SubmitDescription, DirectivesThatWouldBreakTheJobSilentlyAreRefusedByName) {
  for (const char* key :
       {"environment", "Environment", "ENV", "getenv", "GetEnv", "output", "error", "log",
        "+UserLog", "MY.UserLog", "my.userlog", "+JhtcLineage", "MY.JhtcLineage", "+jhtclineage"}) {
    HTCondorOptions o = sample_options();
    o.extra_directives = {{key, "\"x\""}};
    const std::string refusal = refusal_with(o);
    EXPECT_NE(refusal.find("extra_directives: \"" + std::string(key) + "\" is set by the driver"),
              std::string::npos)
        << key << ": " << refusal;
  }
  HTCondorOptions fine = sample_options();
  fine.extra_directives = {{"+ProjectName", "\"jhtc\""}, {"requirements", "True"}};
  EXPECT_TRUE(refusal_with(fine).empty());
}

}  // namespace
}  // namespace jhtc::htcondor
