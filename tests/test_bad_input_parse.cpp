// The public entry points, read from the public headers at test time (Note [Bad-input catalogue]).
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bad_input.hpp"

namespace bad_input {
namespace {

// Comments, string and character literals and preprocessor lines blanked out (newlines kept).
std::string strip(const std::string& text) {
  std::string out = text;
  std::size_t i = 0;
  auto blank = [&](std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to && k < out.size(); ++k)
      if (out[k] != '\n') out[k] = ' ';
  };
  bool line_start = true;
  while (i < out.size()) {
    char c = out[i];
    if (line_start && c == '#') {
      std::size_t end = out.find('\n', i);
      while (end != std::string::npos && end > 0 && out[end - 1] == '\\') end = out.find('\n', end + 1);
      blank(i, end);
      i = end == std::string::npos ? out.size() : end;
      continue;
    }
    if (c == '/' && i + 1 < out.size() && out[i + 1] == '/') {
      std::size_t end = out.find('\n', i);
      blank(i, end);
      i = end == std::string::npos ? out.size() : end;
      continue;
    }
    if (c == '/' && i + 1 < out.size() && out[i + 1] == '*') {
      std::size_t end = out.find("*/", i + 2);
      end = end == std::string::npos ? out.size() : end + 2;
      blank(i, end);
      i = end;
      continue;
    }
    if (c == '"' || c == '\'') {
      std::size_t k = i + 1;
      while (k < out.size() && out[k] != c) k += out[k] == '\\' ? 2 : 1;
      blank(i + 1, k);
      i = k + 1;
      line_start = false;
      continue;
    }
    if (c == '\n')
      line_start = true;
    else if (!std::isspace(static_cast<unsigned char>(c)))
      line_start = false;
    ++i;
  }
  return out;
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

// Drops a leading `template <...>` (balanced angle brackets), repeatedly.
std::string drop_template_heads(std::string s) {
  static const std::regex head(R"(^template\s*<)");
  while (std::regex_search(s, head)) {
    std::size_t k = s.find('<');
    int depth = 0;
    for (; k < s.size(); ++k) {
      if (s[k] == '<') ++depth;
      if (s[k] == '>' && --depth == 0) break;
    }
    s = trim(s.substr(k + 1));
  }
  return s;
}

bool is_ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

struct Scope {
  enum Kind { ns, cls, block } kind;
  std::string name;
  bool is_public = true;  // classes: the current access
};

// The function a declaration declares ("zeros", "operator+", "Tensor::sum" in class Tensor), or "" when
// it declares none (a variable, an alias, a deleted or private member, an out-of-class definition).
std::string declared_function(std::string decl, const std::string& cls) {
  decl = trim(decl);
  static const std::regex skip(R"(^(using|typedef|friend|extern|static_assert|namespace|enum)\b)");
  if (decl.empty() || std::regex_search(decl, skip)) return "";
  decl = drop_template_heads(decl);
  decl = std::regex_replace(decl, std::regex(R"(\[\[.*?\]\])"), " ");  // attributes: [[deprecated(...)]]
  if (std::regex_search(decl, std::regex(R"(=\s*delete\b)"))) return "";
  static const std::regex op(R"(\boperator\s*([^\w\s(]+|\(\s*\))\s*\()");
  static const std::regex conversion(R"(\boperator\s+(\w+)\s*\()");
  std::smatch m;
  std::string name;
  std::size_t paren;
  if (std::regex_search(decl, m, op) || std::regex_search(decl, m, conversion)) {
    std::string symbol = std::regex_replace(m[1].str(), std::regex(R"(\s)"), "");
    name = (is_ident(symbol[0]) ? "operator " : "operator") + symbol;
    paren = m.position(0);
  } else {
    // The identifier right before the first '(' that follows an identifier (skipping keywords).
    static const std::set<std::string> keywords = {"requires", "decltype", "noexcept", "alignas",
                                                   "sizeof",   "void",     "alignof",  "static_cast"};
    paren = std::string::npos;
    for (std::size_t k = 0; k < decl.size(); ++k) {
      if (decl[k] != '(') continue;
      std::size_t e = k;
      while (e > 0 && std::isspace(static_cast<unsigned char>(decl[e - 1]))) --e;
      std::size_t b = e;
      while (b > 0 && is_ident(decl[b - 1])) --b;
      if (b == e || keywords.count(decl.substr(b, e - b))) continue;
      name = decl.substr(b, e - b);
      paren = b;
      break;
    }
    if (paren == std::string::npos) return "";
    if (std::isdigit(static_cast<unsigned char>(name[0]))) return "";
  }
  std::string before = trim(decl.substr(0, paren));
  // `x = f(...)` is a variable; `A::f(...)` an out-of-class definition; `~A()` a destructor.
  if (before.find('=') != std::string::npos) return "";
  if (before.ends_with("::") || before.ends_with("~")) return "";
  return cls.empty() ? name : cls + "::" + name;
}

}  // namespace

ListMacros list_macros(const std::string& text) {
  ListMacros lists;
  static const std::regex head(R"(#define\s+(\w+)\(X\)((?:[^\n]*\\\n)*[^\n]*))");
  static const std::regex entry(R"(\bX\(\s*(\w+))");
  for (std::sregex_iterator it(text.begin(), text.end(), head), end; it != end; ++it) {
    const std::string body = (*it)[2];
    auto& names = lists[(*it)[1]];
    for (std::sregex_iterator e(body.begin(), body.end(), entry); e != end; ++e) names.push_back((*e)[1]);
  }
  return lists;
}

std::vector<std::string> public_entry_points(const std::string& text, const std::set<std::string>& unwalked,
                                             const ListMacros& lists) {
  std::string src = strip(text);
  // A list expanded in place (`LIST(DECLARE)` on a line of its own) declares one function per entry.
  for (const auto& [list, names] : lists) {
    const std::regex use("\\b" + list + R"(\(\s*\w+\s*\))");
    std::string declarations;
    for (const std::string& name : names) declarations += "Tensor " + name + "(const Tensor& x); ";
    src = std::regex_replace(src, use, declarations);
  }
  std::vector<Scope> stack;
  std::vector<std::string> found;
  std::string stmt;
  int parens = 0;
  // Where declarations count: namespace tapegrad (and non-detail namespaces inside it), or a walked
  // class directly inside those, at public access. Returns the class prefix, or nullopt.
  auto context = [&]() -> std::optional<std::string> {
    std::string prefix;
    bool in_tapegrad = false;
    for (std::size_t i = 0; i < stack.size(); ++i) {
      const Scope& s = stack[i];
      if (s.kind == Scope::block) return std::nullopt;
      if (s.kind == Scope::ns) {
        if (i == 0 && s.name != "tapegrad" && !s.name.starts_with("tapegrad::")) return std::nullopt;
        if (s.name == "detail" || s.name.find("detail") != std::string::npos) return std::nullopt;
        if (i == 0) in_tapegrad = true;
        std::string inner = i == 0 ? s.name.substr(std::min<std::size_t>(s.name.size(), 10)) : s.name;
        if (!inner.empty()) prefix += inner + "::";
      } else {
        if (i + 1 != stack.size() || !s.is_public || unwalked.count(s.name)) return std::nullopt;
        prefix += s.name;
      }
    }
    if (!in_tapegrad) return std::nullopt;
    if (!prefix.empty() && prefix.ends_with("::")) prefix.resize(prefix.size() - 2);
    return prefix;
  };
  auto take_access = [&]() {
    static const std::regex access(R"(^\s*(public|private|protected)\s*:(?!:))");
    std::smatch m;
    while (std::regex_search(stmt, m, access)) {
      if (!stack.empty() && stack.back().kind == Scope::cls) stack.back().is_public = m[1] == "public";
      stmt = m.suffix();
    }
  };
  auto declare = [&]() {
    take_access();
    if (auto cls = context()) {
      std::string name = declared_function(stmt, *cls);
      if (!name.empty()) found.push_back(name);
    }
  };
  static const std::regex ns_head(R"(^\s*(inline\s+)?namespace\s+([\w:]+)\s*$)");
  static const std::regex class_head(R"(^(class|struct)\s+(\w+))");
  for (char c : src) {
    if (c == '(') ++parens;
    if (c == ')') --parens;
    if (parens > 0 || (c != '{' && c != '}' && c != ';')) {
      stmt += c;
      continue;
    }
    if (c == ';') {
      if (stack.empty() || stack.back().kind != Scope::block) declare();
      stmt.clear();
    } else if (c == '}') {
      if (!stack.empty()) stack.pop_back();
      stmt.clear();
    } else {  // '{'
      if (!stack.empty() && stack.back().kind == Scope::block) {
        stack.push_back({Scope::block, "", true});
        continue;
      }
      take_access();
      std::smatch m;
      std::string head = drop_template_heads(trim(stmt));
      if (std::regex_search(stmt, m, ns_head)) {
        stack.push_back({Scope::ns, m[2], true});
      } else if (std::regex_search(head, m, class_head) && head.find('(') == std::string::npos) {
        stack.push_back({Scope::cls, m[2], m[1] == "struct"});
      } else {
        if (head.find('(') != std::string::npos) declare();  // a function defined in the header
        stack.push_back({Scope::block, "", true});
      }
      stmt.clear();
    }
  }
  return found;
}

std::vector<std::string> public_entry_points_in(const std::filesystem::path& dir,
                                                const std::set<std::string>& unwalked) {
  ListMacros lists;
  for (const auto& file : std::filesystem::recursive_directory_iterator(dir)) {
    if (file.path().extension() != ".hpp") continue;
    std::ifstream in(file.path());
    std::stringstream text;
    text << in.rdbuf();
    lists.merge(list_macros(text.str()));
  }
  std::set<std::string> names;
  for (const auto& file : std::filesystem::recursive_directory_iterator(dir)) {
    if (file.path().extension() != ".hpp") continue;
    std::ifstream in(file.path());
    std::stringstream text;
    text << in.rdbuf();
    for (auto& name : public_entry_points(text.str(), unwalked, lists)) names.insert(name);
  }
  return {names.begin(), names.end()};
}

}  // namespace bad_input
