//! Mails and pages in the reader's language (docs/contract.md, "Events and notices"): Fluent
//! messages, one file per language in `shared/locales` (`en.ftl` is the reference a
//! translator starts from), compiled into the binary. A language's file is parsed the first
//! time it is used in an execution environment, and kept.

use std::sync::OnceLock;

use fluent_bundle::FluentResource;
use fluent_bundle::concurrent::FluentBundle;

/// The values a message is filled in with, by name.
pub use fluent_bundle::FluentArgs;

/// The language ranges of an `Accept-Language` header that are read; browsers send a few.
pub(crate) const MAX_LANGUAGE_RANGES: usize = 32;

/// A language that mails and pages are written in. Any other is answered in English.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    #[default]
    En,
    De,
    Fr,
    Es,
    Ja,
}

impl Language {
    pub const ALL: [Language; 5] = [
        Language::En,
        Language::De,
        Language::Fr,
        Language::Es,
        Language::Ja,
    ];

    /// Its BCP 47 tag, as `Content-Language` and `<html lang>` carry it.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
            Language::Fr => "fr",
            Language::Es => "es",
            Language::Ja => "ja",
        }
    }

    /// The language of a BCP 47 tag (a user's `language`): its primary subtag decides, so
    /// `de-AT` is German; English for a language without messages.
    pub fn of_tag(tag: &str) -> Self {
        Self::supported(tag).unwrap_or_default()
    }

    fn supported(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Self::ALL
            .into_iter()
            .find(|language| language.tag().eq_ignore_ascii_case(primary))
    }

    /// The language to answer an `Accept-Language` header in (RFC 9110 §12.5.4): of the
    /// supported ones, the one the reader weighs highest, the first of equals (`q=0` means
    /// "not this one"); English when none is, or without the header.
    ///
    /// Read here, in one pass over at most [`MAX_LANGUAGE_RANGES`] ranges: the header comes
    /// from anyone (the pages have no authorizer), and a weight such as `q=NaN` must count as
    /// no weight, not reach a sort (the `accept-language` crate sorts by a comparison that
    /// NaN makes inconsistent, which the standard library's sort may answer with a panic).
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        let mut best: Option<(Self, f32)> = None;
        for range in accept_language
            .unwrap_or_default()
            .split(',')
            .take(MAX_LANGUAGE_RANGES)
        {
            let mut parts = range.split(';');
            let Some(language) = parts.next().and_then(Self::supported) else {
                continue;
            };
            let weight = parts
                .find_map(|param| {
                    let param = param.trim();
                    param
                        .strip_prefix("q=")
                        .or_else(|| param.strip_prefix("Q="))
                })
                .map_or(Some(1.0), |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                })
                .unwrap_or(0.0);
            if weight > 0.0 && best.is_none_or(|(_, highest)| weight > highest) {
                best = Some((language, weight));
            }
        }
        best.map(|(language, _)| language).unwrap_or_default()
    }

    /// The message `id` in this language, its `args` filled in; where this language lacks it,
    /// the English one. A message missing in English too is a defect of the code: the id is
    /// returned, with an error logged (the render-all test keeps it from shipping).
    pub fn text(self, id: &str, args: Option<&FluentArgs>) -> String {
        self.render(id, args)
            .or_else(|_| Language::En.render(id, args))
            .unwrap_or_else(|error| {
                tracing::error!(id, %error, "a message could not be rendered");
                id.to_owned()
            })
    }

    /// Whether this language's file has the message `id`.
    pub fn has(self, id: &str) -> bool {
        self.bundle().has_message(id)
    }

    /// The message `id` rendered, or why it cannot be: missing, without a value, or a
    /// placeable left unfilled (a variable `args` lacks, a reference to no message).
    pub fn render(self, id: &str, args: Option<&FluentArgs>) -> Result<String, String> {
        let bundle = self.bundle();
        let pattern = bundle
            .get_message(id)
            .and_then(|message| message.value())
            .ok_or_else(|| format!("{}: no message {id}", self.tag()))?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if errors.is_empty() {
            Ok(text.into_owned())
        } else {
            Err(format!("{}: {id}: {errors:?}", self.tag()))
        }
    }

    /// The ids of this language's messages, in the file's order.
    #[cfg(test)]
    fn message_ids(self) -> Vec<&'static str> {
        resource_ids(self.source())
    }

    fn source(self) -> &'static str {
        match self {
            Language::En => include_str!("../locales/en.ftl"),
            Language::De => include_str!("../locales/de.ftl"),
            Language::Fr => include_str!("../locales/fr.ftl"),
            Language::Es => include_str!("../locales/es.ftl"),
            Language::Ja => include_str!("../locales/ja.ftl"),
        }
    }

    fn bundle(self) -> &'static FluentBundle<FluentResource> {
        static BUNDLES: [OnceLock<FluentBundle<FluentResource>>; Language::ALL.len()] =
            [const { OnceLock::new() }; Language::ALL.len()];
        BUNDLES[self as usize].get_or_init(|| self.load())
    }

    fn load(self) -> FluentBundle<FluentResource> {
        let mut bundle = FluentBundle::new_concurrent(vec![self.tag().parse().unwrap_or_default()]);
        // Mails are plain text and pages are escaped by their code: no Unicode isolation
        // marks around the filled-in values.
        bundle.set_use_isolating(false);
        let resource = FluentResource::try_new(self.source().to_owned()).unwrap_or_else(
            |(resource, errors)| {
                tracing::error!(
                    language = self.tag(),
                    ?errors,
                    "messages that do not parse are left out"
                );
                resource
            },
        );
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(language = self.tag(), ?errors, "messages defined twice");
        }
        bundle
    }
}

#[cfg(test)]
fn resource_ids(source: &'static str) -> Vec<&'static str> {
    use fluent_syntax::ast::Entry;
    match fluent_syntax::parser::parse(source) {
        Ok(resource) | Err((resource, _)) => resource
            .body
            .into_iter()
            .filter_map(|entry| match entry {
                Entry::Message(message) => Some(message.id.name),
                _ => None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_read_by_its_primary_subtag() {
        assert_eq!(Language::of_tag("de"), Language::De);
        assert_eq!(Language::of_tag("de-AT"), Language::De);
        assert_eq!(Language::of_tag("JA_jp"), Language::Ja);
        assert_eq!(Language::of_tag("pt-BR"), Language::En);
        assert_eq!(Language::of_tag(""), Language::En);
    }

    #[test]
    fn accept_language_is_weighed() {
        let pick = |header| Language::negotiate(Some(header));
        assert_eq!(pick("de-DE,de;q=0.9,en;q=0.8"), Language::De);
        assert_eq!(pick("pt-BR, fr;q=0.5, es;q=0.7"), Language::Es);
        assert_eq!(pick("en;q=0.1, ja"), Language::Ja);
        assert_eq!(pick("de;q=0, fr;q=0.2"), Language::Fr);
        assert_eq!(pick("de;q=0"), Language::En);
        assert_eq!(pick("*"), Language::En);
        assert_eq!(pick(";;,,q=x"), Language::En);
        assert_eq!(
            pick("de;q=1.5, fr;q=0.5"),
            Language::Fr,
            "a weight above 1 is no weight"
        );
        assert_eq!(pick("de;q=NaN, ja;q=inf, es;q=0.1"), Language::Es);
        assert_eq!(
            pick("fr;q=0.5, de;q=0.5"),
            Language::Fr,
            "the first of equals"
        );
        assert_eq!(Language::negotiate(None), Language::En);
        // What made the accept-language crate's sort inconsistent: many NaN weights.
        let hostile = "x;q=NaN,de;q=0.3,".repeat(200);
        assert_eq!(pick(&hostile), Language::De);
        // Only the first ranges are read.
        let late = format!("{}ja", "xx,".repeat(MAX_LANGUAGE_RANGES));
        assert_eq!(pick(&late), Language::En);
    }

    /// Every value a message may use, so that each renders whole.
    const VARIABLES: [(&str, &str); 5] = [
        ("login", "jdoe"),
        ("old_email", "old@example.com"),
        ("new_email", "new@example.com"),
        (
            "link",
            "https://accounts.example.test/users/1/email/confirmation?token=t",
        ),
        ("at", "2026-12-04T12:00:00Z"),
    ];
    const HOURS: i64 = 24;

    fn every_variable() -> FluentArgs<'static> {
        let mut args = FluentArgs::new();
        for (name, value) in VARIABLES {
            args.set(name, value);
        }
        args.set("hours", HOURS);
        args
    }

    #[test]
    fn every_language_has_every_message_and_no_other() {
        let reference = Language::En.message_ids();
        assert!(reference.len() > 10, "{reference:?}");
        for language in Language::ALL {
            assert_eq!(language.message_ids(), reference, "{}", language.tag());
        }
    }

    #[test]
    fn every_message_renders_in_every_language_with_nothing_left_over() {
        let args = every_variable();
        for language in Language::ALL {
            for id in Language::En.message_ids() {
                let text = language
                    .render(id, Some(&args))
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(!text.trim().is_empty(), "{}: {id} is empty", language.tag());
                for leftover in ['{', '}', '$', '\u{2068}', '\u{2069}'] {
                    assert!(
                        !text.contains(leftover),
                        "{}: {id} keeps {leftover:?}: {text}",
                        language.tag()
                    );
                }
            }
        }
    }

    #[test]
    fn every_variable_a_message_uses_in_english_is_used_in_every_language() {
        let args = every_variable();
        for id in Language::En.message_ids() {
            let english = Language::En.render(id, Some(&args)).expect("English");
            let hours = HOURS.to_string();
            let values = VARIABLES.into_iter().chain([("hours", hours.as_str())]);
            for (name, value) in values {
                if !english.contains(value) {
                    continue;
                }
                for language in Language::ALL {
                    let text = language.render(id, Some(&args)).expect("rendered");
                    assert!(
                        text.contains(value),
                        "{}: {id} does not use ${name}: {text}",
                        language.tag()
                    );
                }
            }
        }
    }

    #[test]
    fn a_plural_follows_the_number() {
        // As confirmation::mail passes it: hours as a float.
        let mut args = every_variable();
        args.set("hours", 3600.0 / 3600.0);
        let one = Language::En.text("confirmation-mail-text", Some(&args));
        assert!(one.contains("within 1 hour and"), "{one}");
        args.set("hours", 172_800.0 / 3600.0);
        let many = Language::En.text("confirmation-mail-text", Some(&args));
        assert!(many.contains("within 48 hours and"), "{many}");
    }

    #[test]
    fn an_unknown_message_is_shown_as_its_id() {
        assert!(Language::De.has("page-confirm-title"));
        assert!(!Language::De.has("no-such-message"));
        assert_eq!(
            Language::De.text("no-such-message", None),
            "no-such-message"
        );
    }
}
