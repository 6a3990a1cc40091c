// hydrate export: the generated content of a root as JSON or markdown.
#include <fstream>

#include "cli/common.hpp"
#include "core/report.hpp"

namespace hydrate::cli {

namespace {
struct ExportFlags {
  std::string job_id;
  std::string format = "json";
  std::string output;
};
}  // namespace

void add_export(CLI::App& app, Globals& globals) {
  auto* command =
      app.add_subcommand("export", "write a root's generated content as JSON or markdown");
  auto flags = std::make_shared<ExportFlags>();
  command->add_option("job", flags->job_id, "root job id")->required();
  command->add_option("--format", flags->format, "json (default) or markdown")
      ->check(CLI::IsMember({"json", "markdown"}));
  command->add_option("-o,--output", flags->output, "file to write instead of stdout");
  command->callback([&globals, flags] {
    check_job_id(flags->job_id);
    Config config = load_config(globals);
    auto store = open_database(config, false);
    auto root = unwrap(store->find_root(flags->job_id));
    auto content = unwrap(store->load_content(flags->job_id));
    std::string text = flags->format == "markdown" ? report::export_markdown(root, content)
                                                   : report::export_json(root, content);
    if (flags->output.empty()) {
      print_line(text);
      return;
    }
    std::ofstream out(flags->output);
    if (!out || !(out << text << '\n'))
      throw Failure(kFailure, "cannot write '" + flags->output + "'");
  });
}

}  // namespace hydrate::cli
