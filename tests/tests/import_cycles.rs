//! No import cycles between modules, in desfire-core, host-tools and the firmware's reader
//! library; and no host-tools library module imports the command-line front end (`cli`).
//!
//! The module graph is built from the sources with `syn`: every `use` and every path in the
//! code (`crate::…`, `super::…`, `self::…`, or a name the module declares or imports) is
//! resolved, through `use` re-exports, to the module that defines the item. A reference
//! between two modules counts at the level where their paths part: `audit::cards` using
//! `audit::run` is an edge `cards -> run` among the children of `audit`, and `gen_pacs`
//! using `cli::emulate` an edge `gen_pacs -> cli` at the crate root. A module and its own
//! descendants (a `mod.rs` re-exporting its children, a child using its parent's items) are
//! one unit and never form a cycle. Code under `#[cfg(test)]` is left out, as
//! `cargo modules dependencies` leaves it out.
//!
//! Each cycle is printed with the reference behind every edge (file and path), so the fix can
//! start from the message.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The crates checked: a name and the library root.
const CRATES: &[(&str, &str)] = &[
    ("desfire-core", "desfire-core/src/lib.rs"),
    ("host-tools", "host-tools/src/lib.rs"),
    ("firmware/reader", "firmware/reader/src/lib.rs"),
];

/// Layering rules: in `crate`, no module outside `module` refers into it.
const CLOSED_MODULES: &[(&str, &str)] = &[("host-tools", "cli")];

type ModPath = Vec<String>;

/// What a name in a module's scope stands for.
#[derive(Debug, Clone)]
enum Binding {
    /// A child module.
    Module(ModPath),
    /// An item defined in the module.
    Item,
    /// A `use` of this path, written in this module.
    Use(Vec<String>),
}

#[derive(Debug, Default)]
struct Module {
    file: PathBuf,
    names: BTreeMap<String, Binding>,
    /// `use path::*`: where names not found otherwise may come from.
    globs: Vec<Vec<String>>,
}

/// A reference from a module to a path, as written.
#[derive(Debug)]
struct Reference {
    from: ModPath,
    path: Vec<String>,
    file: PathBuf,
}

#[derive(Debug, Default)]
struct Crate {
    modules: BTreeMap<ModPath, Module>,
    references: Vec<Reference>,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let tokens = a
                .meta
                .require_list()
                .map(|l| l.tokens.to_string())
                .unwrap_or_default();
            // `cfg(test)` and `cfg(all(test, …))`, not `cfg(not(test))`.
            tokens
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|t| t == "test")
                && !tokens.contains("not")
        }
    })
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// Flattens a use tree into (name bound, full path) pairs; a glob gives the name `*`.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push((last.clone(), prefix.clone()));
                }
            } else {
                let mut p = prefix.clone();
                p.push(name.clone());
                out.push((name, p));
            }
        }
        syn::UseTree::Rename(r) => {
            let mut p = prefix.clone();
            if r.ident != "self" {
                p.push(r.ident.to_string());
            }
            out.push((r.rename.to_string(), p));
        }
        syn::UseTree::Glob(_) => out.push(("*".into(), prefix.clone())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

/// Collects the modules, their names and the references of one crate.
struct Collector<'a> {
    krate: &'a mut Crate,
    module: ModPath,
    /// The directory where this module's file children live.
    dir: PathBuf,
    file: PathBuf,
    errors: &'a mut Vec<String>,
}

impl Collector<'_> {
    fn scope(&mut self) -> &mut Module {
        self.krate.modules.entry(self.module.clone()).or_default()
    }

    fn item_name(&mut self, ident: &syn::Ident) {
        self.scope()
            .names
            .entry(ident.to_string())
            .or_insert(Binding::Item);
    }

    fn reference(&mut self, path: Vec<String>) {
        self.krate.references.push(Reference {
            from: self.module.clone(),
            path,
            file: self.file.clone(),
        });
    }

    fn load_module(&mut self, name: &str, attrs: &[syn::Attribute]) {
        let mut child = self.module.clone();
        child.push(name.to_owned());
        let candidates = match path_attr(attrs) {
            Some(p) => vec![self.dir.join(p)],
            None => vec![
                self.dir.join(format!("{name}.rs")),
                self.dir.join(name).join("mod.rs"),
            ],
        };
        let Some(file) = candidates.into_iter().find(|f| f.exists()) else {
            self.errors
                .push(format!("{}: no file for `mod {name}`", self.file.display()));
            return;
        };
        let dir = if file.file_name().is_some_and(|n| n == "mod.rs") {
            file.parent().unwrap_or(Path::new(".")).to_owned()
        } else {
            self.dir.join(name)
        };
        load_file(self.krate, child, &file, dir, self.errors);
    }
}

fn load_file(
    krate: &mut Crate,
    module: ModPath,
    file: &Path,
    dir: PathBuf,
    errors: &mut Vec<String>,
) {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            errors.push(format!("{}: {e}", file.display()));
            return;
        }
    };
    let ast = match syn::parse_file(&text) {
        Ok(a) => a,
        Err(e) => {
            errors.push(format!("{}: {e}", file.display()));
            return;
        }
    };
    krate.modules.entry(module.clone()).or_default().file = file.to_owned();
    let mut c = Collector {
        krate,
        module,
        dir,
        file: file.to_owned(),
        errors,
    };
    c.visit_file(&ast);
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Union(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => &[],
        };
        if is_cfg_test(attrs) {
            return;
        }
        match item {
            syn::Item::Const(i) => self.item_name(&i.ident),
            syn::Item::Enum(i) => self.item_name(&i.ident),
            syn::Item::Fn(i) => self.item_name(&i.sig.ident),
            syn::Item::Static(i) => self.item_name(&i.ident),
            syn::Item::Struct(i) => self.item_name(&i.ident),
            syn::Item::Trait(i) => self.item_name(&i.ident),
            syn::Item::Type(i) => self.item_name(&i.ident),
            syn::Item::Union(i) => self.item_name(&i.ident),
            syn::Item::Macro(i) => {
                if let Some(ident) = &i.ident {
                    self.item_name(ident);
                }
            }
            _ => {}
        }
        match item {
            syn::Item::Mod(m) => {
                let name = m.ident.to_string();
                let mut child = self.module.clone();
                child.push(name.clone());
                self.scope()
                    .names
                    .insert(name.clone(), Binding::Module(child.clone()));
                match &m.content {
                    None => self.load_module(&name, &m.attrs),
                    Some((_, items)) => {
                        let outer = std::mem::replace(&mut self.module, child);
                        let inner_dir = self.dir.join(&name);
                        let outer_dir = std::mem::replace(&mut self.dir, inner_dir);
                        self.scope().file = self.file.clone();
                        for i in items {
                            self.visit_item(i);
                        }
                        self.module = outer;
                        self.dir = outer_dir;
                    }
                }
            }
            syn::Item::Use(u) => {
                let mut out = Vec::new();
                let mut prefix = Vec::new();
                if u.leading_colon.is_some() {
                    // `::name`: an extern crate.
                    return;
                }
                use_paths(&u.tree, &mut prefix, &mut out);
                for (name, path) in out {
                    if name == "*" {
                        self.scope().globs.push(path.clone());
                    } else if name != "_" {
                        self.scope().names.insert(name, Binding::Use(path.clone()));
                    }
                    self.reference(path);
                }
            }
            other => syn::visit::visit_item(self, other),
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() >= 2 {
            self.reference(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs: &[syn::Attribute] = match item {
            syn::ImplItem::Const(i) => &i.attrs,
            syn::ImplItem::Fn(i) => &i.attrs,
            syn::ImplItem::Type(i) => &i.attrs,
            _ => &[],
        };
        if !is_cfg_test(attrs) {
            syn::visit::visit_impl_item(self, item);
        }
    }
}

/// Where a path leads: the module that defines what it names, or `None` outside the crate.
fn resolve(krate: &Crate, from: &ModPath, path: &[String], depth: usize) -> Option<ModPath> {
    if depth > 32 {
        return None;
    }
    let (first, rest) = path.split_first()?;
    let mut at: ModPath = match first.as_str() {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => {
            let mut m = from.clone();
            m.pop()?;
            m
        }
        name => return lookup(krate, from, name, rest, depth),
    };
    let mut rest = rest;
    while let Some((seg, tail)) = rest.split_first() {
        if seg == "super" {
            at.pop()?;
            rest = tail;
            continue;
        }
        return lookup(krate, &at, seg, tail, depth);
    }
    Some(at)
}

/// `name` looked up in module `at`, then `rest` from there.
fn lookup(
    krate: &Crate,
    at: &ModPath,
    name: &str,
    rest: &[String],
    depth: usize,
) -> Option<ModPath> {
    let module = krate.modules.get(at)?;
    match module.names.get(name) {
        Some(Binding::Module(m)) => {
            let mut p = vec!["self".to_owned()];
            p.extend(rest.iter().cloned());
            resolve(krate, m, &p, depth + 1)
        }
        Some(Binding::Item) => Some(at.clone()),
        Some(Binding::Use(target)) => {
            let mut p = target.clone();
            p.extend(rest.iter().cloned());
            resolve(krate, at, &p, depth + 1)
        }
        // `use path::*`: the module it imports from, if that module has `name`.
        None => module.globs.iter().find_map(|g| {
            let source = resolve(krate, at, g, depth + 1)?;
            krate
                .modules
                .get(&source)?
                .names
                .contains_key(name)
                .then_some(())?;
            lookup(krate, &source, name, rest, depth + 1)
        }),
    }
}

/// An edge between two sibling modules, with the references behind it.
type Level = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn display(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// The crate's sibling graphs, one per parent module, and every resolved reference as
/// `from\tto\tfile: path` (for the layering rules).
fn graph(krate: &Crate, root: &Path) -> (BTreeMap<ModPath, Level>, Vec<String>) {
    let mut levels: BTreeMap<ModPath, Level> = BTreeMap::new();
    let mut edges = Vec::new();
    for r in &krate.references {
        let Some(to) = resolve(krate, &r.from, &r.path, 0) else {
            continue;
        };
        let file = r
            .file
            .strip_prefix(root)
            .unwrap_or(&r.file)
            .display()
            .to_string();
        let why = format!("{file}: {}", r.path.join("::"));
        edges.push(format!("{}\t{}\t{why}", display(&r.from), display(&to)));
        let k = r.from.iter().zip(&to).take_while(|(a, b)| a == b).count();
        let (Some(a), Some(b)) = (r.from.get(k), to.get(k)) else {
            continue;
        };
        levels
            .entry(r.from[..k].to_vec())
            .or_default()
            .entry(a.clone())
            .or_default()
            .entry(b.clone())
            .or_default()
            .push(why);
    }
    (levels, edges)
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(level: &Level) -> Vec<Vec<String>> {
    struct State<'a> {
        level: &'a Level,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(succ) = s.level.get(v) {
            for w in succ.keys() {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        level,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in level.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// One cycle found: where, which modules, and the references behind its edges.
#[derive(Debug)]
struct Cycle {
    parent: String,
    members: Vec<String>,
    evidence: String,
}

/// Loads the crate at `lib` and returns its cycles and layering violations.
fn check(name: &str, root: &Path, lib: &Path, closed: &[&str]) -> (Vec<Cycle>, Vec<String>) {
    let mut krate = Crate::default();
    let mut errors = Vec::new();
    let dir = lib.parent().unwrap_or(Path::new(".")).to_owned();
    load_file(&mut krate, Vec::new(), lib, dir, &mut errors);
    assert!(errors.is_empty(), "{name}: {}", errors.join("\n"));
    let (levels, edges) = graph(&krate, root);
    let mut found = Vec::new();
    for (parent, level) in &levels {
        for members in cycles(level) {
            let mut evidence = String::new();
            for a in &members {
                for b in &members {
                    if let Some(whys) = level.get(a).and_then(|s| s.get(b)) {
                        let _ = writeln!(evidence, "      {a} -> {b}:");
                        let whys: BTreeSet<_> = whys.iter().collect();
                        for w in whys.iter().take(4) {
                            let _ = writeln!(evidence, "        {w}");
                        }
                        if whys.len() > 4 {
                            let _ = writeln!(evidence, "        … and {} more", whys.len() - 4);
                        }
                    }
                }
            }
            found.push(Cycle {
                parent: display(parent),
                members,
                evidence,
            });
        }
    }
    let mut violations = Vec::new();
    for closed in closed {
        for e in &edges {
            let mut cols = e.split('\t');
            let (Some(from), Some(to), Some(why)) = (cols.next(), cols.next(), cols.next()) else {
                continue;
            };
            let inside = |m: &str| m == *closed || m.starts_with(&format!("{closed}::"));
            if inside(to) && !inside(from) {
                violations.push(format!("  {from} uses `{closed}` ({why})"));
            }
        }
    }
    (found, violations)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

#[test]
fn no_import_cycles_and_no_library_module_imports_the_cli() {
    let root = workspace();
    let mut report = String::new();
    let mut modules = 0;
    for (name, lib) in CRATES {
        let closed: Vec<&str> = CLOSED_MODULES
            .iter()
            .filter(|(c, _)| c == name)
            .map(|(_, m)| *m)
            .collect();
        let (found, violations) = check(name, &root, &root.join(lib), &closed);
        modules += 1;
        for c in found {
            let _ = writeln!(
                report,
                "{name}: import cycle among the children of `{}`: {}\n{}",
                c.parent,
                c.members.join(" <-> "),
                c.evidence
            );
        }
        for v in violations {
            let _ = writeln!(
                report,
                "{name}: a library module imports the command line:\n{v}"
            );
        }
    }
    assert_eq!(modules, CRATES.len());
    assert!(report.is_empty(), "\n{report}");
}

/// A crate with a cycle through a re-export and a child's `super::` path: the check finds it,
/// with the references behind each edge, and finds nothing once the cycle is broken.
#[test]
fn a_deliberate_cycle_is_found() {
    let dir = std::env::temp_dir().join(format!("import-cycles-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("a")).unwrap();
    let write = |p: &str, s: &str| std::fs::write(src.join(p), s).unwrap();
    write("lib.rs", "pub mod a;\npub mod b;\npub mod cli;\n");
    // `a` re-exports `a::x::X`; `b` uses it through the re-export; `a::x` uses `b`.
    write("a/mod.rs", "mod x;\npub use self::x::X;\n");
    write(
        "a/x.rs",
        "pub struct X;\nfn f() -> crate::b::B { crate::b::B }\n",
    );
    write(
        "b.rs",
        "use crate::a::X;\npub struct B;\n#[cfg(test)]\nmod tests { use crate::cli::Run; }\n",
    );
    write("cli.rs", "pub struct Run;\nuse crate::a::X;\n");
    let (found, violations) = check("demo", &dir, &src.join("lib.rs"), &["cli"]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].parent, "crate");
    assert_eq!(found[0].members, ["a", "b"]);
    assert!(
        found[0]
            .evidence
            .contains("a -> b:\n        src/a/x.rs: crate::b::B"),
        "{}",
        found[0].evidence
    );
    assert!(
        found[0]
            .evidence
            .contains("b -> a:\n        src/b.rs: crate::a::X"),
        "{}",
        found[0].evidence
    );
    // The test module's use of `cli` does not count; a library use does.
    assert!(violations.is_empty(), "{violations:?}");
    write(
        "b.rs",
        "use crate::a::X;\npub struct B;\nfn g() { let _ = crate::cli::Run; }\n",
    );
    let (_, violations) = check("demo", &dir, &src.join("lib.rs"), &["cli"]);
    assert_eq!(violations.len(), 1, "{violations:?}");
    // Broken: `a::x` no longer uses `b`.
    write("a/x.rs", "pub struct X;\n");
    let (found, _) = check("demo", &dir, &src.join("lib.rs"), &["cli"]);
    assert!(found.is_empty(), "{found:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
