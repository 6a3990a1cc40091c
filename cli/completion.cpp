// hydrate completion bash: a bash completion script generated from the CLI11 definitions
// themselves, so that it lists exactly the commands and options the parser accepts. The build
// runs this command to produce the installed file (cli/CMakeLists.txt).
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "cli/common.hpp"

namespace hydrate::cli {

namespace {

// What completes under one command path ("" is hydrate itself, "a b" a subcommand's subcommand).
struct Node {
  std::string path;
  std::vector<std::string> commands;  // its subcommands' names
  std::vector<std::string> options;   // every option name valid here, inherited ones included
  std::set<std::string> takes_value;  // the options among them that take a value
  std::map<std::string, std::vector<std::string>> choices;  // option -> its fixed set of values
  std::vector<std::string> positional_choices;              // fixed values of its positionals
};

// The fixed set of values of an option, when a validator such as CLI::IsMember declares one: its
// type name then holds ":{a,b,c}" (CLI11's description of a set). Empty for a free value.
std::vector<std::string> choices_of(const CLI::Option& option) {
  std::string type = option.get_type_name();
  auto open = type.find(":{");
  auto close = type.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return {};
  std::vector<std::string> values;
  std::stringstream list(type.substr(open + 2, close - open - 2));
  for (std::string value; std::getline(list, value, ',');) {
    if (!value.empty()) values.push_back(value);
  }
  return values;
}

void add_options(const CLI::App& app, Node& node) {
  for (const CLI::Option* option : app.get_options()) {
    std::vector<std::string> names;
    for (const auto& name : option->get_snames()) names.push_back("-" + name);
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    if (names.empty()) {  // a positional
      for (auto& value : choices_of(*option)) node.positional_choices.push_back(value);
      continue;
    }
    bool takes_value = option->get_items_expected_max() > 0;  // a flag expects none
    for (const auto& name : names) {
      if (std::find(node.options.begin(), node.options.end(), name) != node.options.end()) continue;
      node.options.push_back(name);
      if (!takes_value) continue;
      node.takes_value.insert(name);
      if (auto values = choices_of(*option); !values.empty()) node.choices[name] = values;
    }
  }
  // Option groups are nameless subcommands whose options belong to this command.
  for (const CLI::App* group :
       app.get_subcommands([](const CLI::App* sub) { return sub->get_name().empty(); })) {
    add_options(*group, node);
  }
}

// Appends the node of app at path and those of its subcommands; inherited holds the options of
// its ancestors, which CLI11 accepts after a subcommand too (fallthrough).
void collect(const CLI::App& app, const std::string& path, const Node& inherited,
             std::vector<Node>& nodes) {
  Node node;
  node.path = path;
  add_options(app, node);
  for (const auto& name : inherited.options) {  // its own -h,--help comes first
    if (std::find(node.options.begin(), node.options.end(), name) == node.options.end()) {
      node.options.push_back(name);
    }
  }
  node.takes_value.insert(inherited.takes_value.begin(), inherited.takes_value.end());
  node.choices.insert(inherited.choices.begin(), inherited.choices.end());
  auto subcommands =
      app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
  for (const CLI::App* sub : subcommands) node.commands.push_back(sub->get_name());
  nodes.push_back(node);
  Node passed_down;
  passed_down.options = node.options;
  passed_down.takes_value = node.takes_value;
  passed_down.choices = node.choices;
  for (const CLI::App* sub : subcommands) {
    collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), passed_down,
            nodes);
  }
}

// Single-quoted for bash: words are the parser's own names and values, but stay safe whatever
// they hold.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The words separated by spaces; padded=true also puts a space before and after each word, for
// the script's `== *" $word "*` membership tests.
std::string joined(const std::vector<std::string>& words, bool padded = false) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
  return padded && !out.empty() ? " " + out + " " : out;
}

std::string bash_script(const CLI::App& root) {
  std::vector<Node> nodes;
  collect(root, "", Node{}, nodes);
  const std::string name = root.get_name();
  const std::string fn = "_" + name;
  std::ostringstream out;
  out << "# bash completion for " << name << ", generated by `" << name
      << " completion bash` from its own\n# command definitions (" << name << " " << HYDRATE_VERSION
      << "). Installed as share/bash-completion/completions/" << name
      << ";\n# or source it from ~/.bashrc.\n\n"
      << "# " << fn << "_node PATH: what completes under command PATH (\"\" is " << name
      << " itself): subcommands and\n# options (words), options that take a value and "
         "subcommands (space-padded), positional values.\n"
      << fn << "_node() {\n  case $1 in\n";
  for (const auto& node : nodes) {
    std::vector<std::string> words = node.commands;
    words.insert(words.end(), node.options.begin(), node.options.end());
    std::vector<std::string> valued(node.takes_value.begin(), node.takes_value.end());
    out << "  " << quoted(node.path) << ")\n"
        << "    " << fn << "_words=" << quoted(joined(words)) << "\n"
        << "    " << fn << "_takes_value=" << quoted(joined(valued, true)) << "\n"
        << "    " << fn << "_commands=" << quoted(joined(node.commands, true)) << "\n"
        << "    " << fn << "_positional=" << quoted(joined(node.positional_choices)) << "\n"
        << "    ;;\n";
  }
  out << "  esac\n}\n\n"
      << "# " << fn
      << "_choices PATH OPTION: the fixed values OPTION takes under PATH; "
         "empty for a free value.\n"
      << fn << "_choices() {\n  case \"$1|$2\" in\n";
  for (const auto& node : nodes) {
    for (const auto& [option, values] : node.choices) {
      out << "  " << quoted(node.path + "|" + option) << ") " << fn
          << "_values=" << quoted(joined(values)) << " ;;\n";
    }
  }
  out << "  *) " << fn << "_values='' ;;\n  esac\n}\n\n";
  // The driver: finds the command path in the words before the cursor (skipping options and the
  // values of those that take one; "--opt=value" reaches us as "--opt" "=" "value"), then offers
  // the option's values, the positional values, or the subcommands and options.
  out << fn << "() {\n"
      << "  local cur=${COMP_WORDS[COMP_CWORD]} path='' word value_for='' i n\n"
      << "  local " << fn << "_words " << fn << "_takes_value " << fn << "_commands " << fn
      << "_positional " << fn << "_values\n"
      << "  local -a words=()\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    [[ ${COMP_WORDS[i]} == = ]] || words+=(\"${COMP_WORDS[i]}\")\n"
      << "  done\n"
      << "  [[ $cur == = ]] && cur=''\n"
      << "  " << fn << "_node ''\n"
      << "  n=${#words[@]}\n"
      << "  for ((i = 0; i < n; i++)); do\n"
      << "    word=${words[i]}\n"
      << "    if [[ $" << fn << "_takes_value == *\" $word \"* ]]; then\n"
      << "      ((i + 1 == n)) && value_for=$word\n"
      << "      i=$((i + 1))\n"
      << "    elif [[ $word != -* && $" << fn << "_commands == *\" $word \"* ]]; then\n"
      << "      path=${path:+$path }$word\n"
      << "      " << fn << "_node \"$path\"\n"
      << "    fi\n"
      << "  done\n"
      << "  if [[ -n $value_for ]]; then\n"
      << "    " << fn << "_choices \"$path\" \"$value_for\"\n"
      << "    mapfile -t COMPREPLY < <(compgen -W \"$" << fn << "_values\" -- \"$cur\")\n"
      << "  elif [[ $cur != -* && -n $" << fn << "_positional ]]; then\n"
      << "    mapfile -t COMPREPLY < <(compgen -W \"$" << fn << "_positional\" -- \"$cur\")\n"
      << "  else\n"
      << "    mapfile -t COMPREPLY < <(compgen -W \"$" << fn << "_words\" -- \"$cur\")\n"
      << "  fi\n"
      << "  return 0\n"
      << "}\n\n"
      << "# A free value (a path, a URL) falls back to file name completion.\n"
      << "complete -o default -F " << fn << " " << name << "\n";
  return out.str();
}

}  // namespace

void add_completion(CLI::App& app, Globals&) {
  auto* command =
      app.add_subcommand("completion", "print a shell completion script for hydrate's commands");
  auto shell = std::make_shared<std::string>();
  command->add_option("shell", *shell, "the shell: bash")
      ->required()
      ->check(CLI::IsMember({"bash"}));
  command->callback([&app, shell] {
    std::string script = bash_script(app);
    std::fwrite(script.data(), 1, script.size(), stdout);
  });
}

}  // namespace hydrate::cli
