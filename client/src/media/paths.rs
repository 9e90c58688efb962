//! Paths the user types and the directories files go to: `~` expanded,
//! the download directory (the setting, else XDG's, else ~/Downloads), the
//! cache, and completing a path typed after `/upload`.

use std::path::{Path, PathBuf};

/// Directory entries looked at when completing (a huge directory is cut short).
const MOST_ENTRIES: usize = 10_000;

fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf())
}

/// `~` and `~/…` become the home directory.
pub fn expand_home(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    match (text.as_ref(), home()) {
        ("~", Some(home)) => home,
        (rest, Some(home)) if rest.starts_with("~/") => home.join(&rest[2..]),
        _ => path.to_path_buf(),
    }
}

/// Where `/save` puts files.
pub fn download_dir(setting: Option<&Path>) -> PathBuf {
    if let Some(dir) = setting {
        return expand_home(dir);
    }
    directories::UserDirs::new()
        .and_then(|dirs| dirs.download_dir().map(Path::to_path_buf))
        .or_else(|| home().map(|home| home.join("Downloads")))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// What `typed` completes to among the files of its directory: the
/// longest common start of the matches (a lone directory gets its `/`),
/// and the matching names.
pub fn complete(typed: &str) -> (String, Vec<String>) {
    let (dir_part, prefix) = match typed.rfind('/') {
        Some(at) => (&typed[..=at], &typed[at + 1..]),
        None => ("", typed),
    };
    let dir = if dir_part.is_empty() { PathBuf::from(".") } else { expand_home(Path::new(dir_part)) };
    let Ok(entries) = std::fs::read_dir(&dir) else { return (typed.to_owned(), Vec::new()) };
    let mut names: Vec<(String, bool)> = entries
        .take(MOST_ENTRIES)
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let hidden = name.starts_with('.') && !prefix.starts_with('.');
            (name.starts_with(prefix) && !hidden).then(|| (name, entry.path().is_dir()))
        })
        .collect();
    names.sort();
    let Some((first, _)) = names.first() else { return (typed.to_owned(), Vec::new()) };
    let common = names.iter().fold(first.clone(), |common, (name, _)| {
        common.chars().zip(name.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect()
    });
    let slash = if names.len() == 1 && names[0].1 { "/" } else { "" };
    let shown = names.into_iter().map(|(name, dir)| if dir { format!("{name}/") } else { name }).collect();
    (format!("{dir_part}{common}{slash}"), shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_complete_to_the_common_start_and_directories_get_a_slash() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["report-2024.pdf", "report-2025.pdf", ".hidden"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        let base = format!("{}/", dir.path().display());
        let (completed, choices) = complete(&format!("{base}rep"));
        assert_eq!(completed, format!("{base}report-202"));
        assert_eq!(choices, ["report-2024.pdf", "report-2025.pdf"]);
        assert_eq!(complete(&format!("{base}ph")).0, format!("{base}photos/"));
        assert_eq!(complete(&format!("{base}zzz")), (format!("{base}zzz"), Vec::new()));
        assert_eq!(complete(&base).1.len(), 3, "hidden files only when asked for");
        if let Some(home) = home() {
            assert_eq!(expand_home(Path::new("~/x.png")), home.join("x.png"));
        }
        assert_eq!(expand_home(Path::new("/tmp/~x")), PathBuf::from("/tmp/~x"));
    }
}
