//! The dashboard's two languages. Every fixed text is a field of [`Words`] (or a method, when it
//! carries numbers), so a text missing in one language does not compile. The Polish is what a
//! salesperson in a Polish showroom says, not a word-for-word copy of the English.

use intent_core::action::{TaskResult, TaskStatus};
use intent_core::outcome::OutcomeKind;

/// A language of the dashboard: the same as the review page's (`intent_learn::html`).
pub use intent_learn::html::Lang;

/// The fixed texts in a language.
pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Pl => &PL,
    }
}

/// Every fixed text of the dashboard, in one language.
#[allow(missing_docs)]
pub struct Words {
    pub lang: Lang,
    // Navigation and login.
    pub queue: &'static str,
    pub funnel: &'static str,
    pub learnings: &'static str,
    pub plan: &'static str,
    pub live: &'static str,
    pub live_title: &'static str,
    pub log_in: &'static str,
    pub log_out: &'static str,
    pub login_hint: &'static str,
    pub login_failed: &'static str,
    pub admin_token: &'static str,
    // Queue.
    pub queue_title: &'static str,
    pub queue_hint: &'static str,
    pub location: &'static str,
    pub all_locations: &'static str,
    pub show: &'static str,
    pub lane_empty: &'static str,
    pub recent_first: &'static str,
    pub settling: &'static str,
    pub anonymous: &'static str,
    pub score: &'static str,
    pub fit_grade: &'static str,
    pub asked_for_person: &'static str,
    pub predicted_chance: &'static str,
    pub sla_title: &'static str,
    pub left: &'static str,
    pub overdue_by: &'static str,
    pub unassigned: &'static str,
    pub claim: &'static str,
    pub complete: &'static str,
    pub result: &'static str,
    // Profile.
    pub no_profile: &'static str,
    pub back_to_queue: &'static str,
    pub tier: &'static str,
    pub fit: &'static str,
    pub stage: &'static str,
    pub prediction: &'static str,
    pub no_model: &'static str,
    pub within: &'static str,
    pub drivers: &'static str,
    pub fit_card: &'static str,
    pub no_fit: &'static str,
    pub total: &'static str,
    pub groups: &'static str,
    pub score_over_time: &'static str,
    pub chart_hint: &'static str,
    pub tasks: &'static str,
    pub no_tasks: &'static str,
    pub due: &'static str,
    pub outcomes: &'static str,
    pub no_outcomes: &'static str,
    pub timeline: &'static str,
    pub when: &'static str,
    pub channel: &'static str,
    pub event: &'static str,
    pub rules: &'static str,
    pub awarded: &'static str,
    pub left_now: &'static str,
    // Funnel.
    pub funnel_title: &'static str,
    pub by_channel: &'static str,
    pub by_location: &'static str,
    pub by_source: &'static str,
    pub by_week: &'static str,
    pub all_time: &'static str,
    pub last_7_days: &'static str,
    pub last_30_days: &'static str,
    pub last_90_days: &'static str,
    pub all_profiles: &'static str,
    pub of_previous: &'static str,
    pub profiles: &'static str,
    pub anonymous_col: &'static str,
    pub from_previous: &'static str,
    pub median_time: &'static str,
    pub won: &'static str,
    pub nothing_yet: &'static str,
    pub engaged_to_appointment: &'static str,
    // Learnings.
    pub learnings_title: &'static str,
    pub learnings_hint: &'static str,
    pub run_analysis: &'static str,
    pub no_analyst: &'static str,
    pub analysis_failed: &'static str,
    pub recommended_plan: &'static str,
    pub recommended_hint: &'static str,
    pub no_recommendation: &'static str,
    pub no_change: &'static str,
    pub stale_analysis: &'static str,
    pub review_and_publish: &'static str,
    // Plan.
    pub plan_title: &'static str,
    pub edit_plan: &'static str,
    pub edit_hint: &'static str,
    pub versions: &'static str,
    pub created: &'static str,
    pub origin: &'static str,
    pub live_badge: &'static str,
    pub diff_vs_live: &'static str,
    pub validate: &'static str,
    pub cancel: &'static str,
    pub validate_title: &'static str,
    pub plan_valid: &'static str,
    pub changes_vs_live: &'static str,
    pub publish: &'static str,
    pub edit_again: &'static str,
    pub tiers_list: &'static str,
    pub has_model: &'static str,
}

/// English.
pub const EN: Words = Words {
    lang: Lang::En,
    queue: "Queue",
    funnel: "Funnel",
    learnings: "Learnings",
    plan: "Plan",
    live: "● live",
    live_title: "The queue updates itself as people act",
    log_in: "Log in",
    log_out: "Log out",
    login_hint: "Sign in with an admin token (intent prints one on first start; `intent keys create admin` makes more).",
    login_failed: "That token is not a valid admin token.",
    admin_token: "Admin token",
    queue_title: "Who to call now",
    queue_hint: "Hottest first: people who asked for a person, then by score. Cards move by themselves as people act.",
    location: "Location",
    all_locations: "All locations",
    show: "Show",
    lane_empty: "Nobody here right now.",
    recent_first: "Most recently active first",
    settling: "The desk is looking at every profile after a start or a new plan: the lanes fill in over the next seconds.",
    anonymous: "Anonymous",
    score: "Score",
    fit_grade: "Fit grade",
    asked_for_person: "Asked for a person",
    predicted_chance: "Predicted chance of the outcome",
    sla_title: "Time left to first contact (SLA)",
    left: "left",
    overdue_by: "overdue by",
    unassigned: "unassigned",
    claim: "Claim",
    complete: "Done",
    result: "Result",
    no_profile: "No such profile",
    back_to_queue: "Back to the queue",
    tier: "Tier",
    fit: "Fit",
    stage: "Stage",
    prediction: "Prediction",
    no_model: "The plan has no model yet: run the analysis on the Learnings page and publish the recommended plan.",
    within: "within",
    drivers: "What drives it",
    fit_card: "Fit",
    no_fit: "No fit rule holds.",
    total: "Total",
    groups: "Interests",
    score_over_time: "Score over time",
    chart_hint: "The line is the score as it was then; bands are the tiers; dots under the axis are events that scored (hover for details).",
    tasks: "Tasks",
    no_tasks: "No tasks.",
    due: "due",
    outcomes: "Outcomes",
    no_outcomes: "No outcomes recorded.",
    timeline: "Timeline",
    when: "When",
    channel: "Channel",
    event: "Event",
    rules: "Rules",
    awarded: "Points",
    left_now: "Left now",
    funnel_title: "Funnel",
    by_channel: "By channel",
    by_location: "By location",
    by_source: "By source",
    by_week: "By week",
    all_time: "All time",
    last_7_days: "Last 7 days",
    last_30_days: "Last 30 days",
    last_90_days: "Last 90 days",
    all_profiles: "All profiles",
    of_previous: "of the stage before",
    profiles: "Profiles",
    anonymous_col: "Still anonymous",
    from_previous: "From the stage before",
    median_time: "Median time",
    won: "Won",
    nothing_yet: "Nothing yet.",
    engaged_to_appointment: "Engaged → appointment",
    learnings_title: "What history says about the plan",
    learnings_hint: "Which signals and paths come before appointments, how well the plan ranks people, and the plan the learner recommends. Computed from the whole event log.",
    run_analysis: "Run the analysis again",
    no_analyst: "This server has no analyst configured.",
    analysis_failed: "The analysis failed",
    recommended_plan: "Recommended plan",
    recommended_hint: "The live plan with the learned points and a model. Red lines go, green lines come.",
    no_recommendation: "No recommendation: history holds too few outcomes to learn from.",
    no_change: "No change.",
    stale_analysis: "A newer plan went live after this analysis: run it again to get a recommendation for the live plan.",
    review_and_publish: "Review and publish",
    plan_title: "Scoring plan",
    edit_plan: "Edit the plan",
    edit_hint: "Change the YAML below and validate it: nothing goes live until you publish.",
    versions: "Versions",
    created: "Created",
    origin: "From",
    live_badge: "live",
    diff_vs_live: "diff vs live",
    validate: "Validate",
    cancel: "Cancel",
    validate_title: "Check the plan",
    plan_valid: "The plan is valid.",
    changes_vs_live: "Changes against the live plan",
    publish: "Publish",
    edit_again: "Edit again",
    tiers_list: "Tiers",
    has_model: "has a prediction model",
};

/// Polish.
pub const PL: Words = Words {
    lang: Lang::Pl,
    queue: "Kolejka",
    funnel: "Lejek",
    learnings: "Wnioski",
    plan: "Plan punktacji",
    live: "● na żywo",
    live_title: "Kolejka odświeża się sama, gdy klienci coś robią",
    log_in: "Zaloguj się",
    log_out: "Wyloguj",
    login_hint: "Zaloguj się tokenem administratora (intent wypisuje go przy pierwszym uruchomieniu; kolejne tworzy `intent keys create admin`).",
    login_failed: "To nie jest ważny token administratora.",
    admin_token: "Token administratora",
    queue_title: "Do kogo dzwonić teraz",
    queue_hint: "Najgorętsi na górze: najpierw ci, którzy poprosili o doradcę, potem według punktów. Karty przesuwają się same.",
    location: "Salon",
    all_locations: "Wszystkie salony",
    show: "Pokaż",
    lane_empty: "Nikogo tu teraz nie ma.",
    recent_first: "Ostatnio aktywni na górze",
    settling: "Po uruchomieniu lub zmianie planu system przegląda wszystkich klientów: kolumny zapełnią się w ciągu kilku sekund.",
    anonymous: "Anonim",
    score: "Punkty",
    fit_grade: "Dopasowanie",
    asked_for_person: "Prosi o doradcę",
    predicted_chance: "Przewidywana szansa",
    sla_title: "Czas na pierwszy kontakt (SLA)",
    left: "zostało",
    overdue_by: "spóźnienie",
    unassigned: "nieprzypisany",
    claim: "Biorę",
    complete: "Załatwione",
    result: "Wynik",
    no_profile: "Nie ma takiego klienta",
    back_to_queue: "Wróć do kolejki",
    tier: "Temperatura",
    fit: "Dopasowanie",
    stage: "Etap",
    prediction: "Prognoza",
    no_model: "Plan nie ma jeszcze modelu: uruchom analizę w zakładce Wnioski i opublikuj proponowany plan.",
    within: "w ciągu",
    drivers: "Co na to wpływa",
    fit_card: "Dopasowanie",
    no_fit: "Żadna reguła dopasowania nie pasuje.",
    total: "Razem",
    groups: "Zainteresowania",
    score_over_time: "Punkty w czasie",
    chart_hint: "Linia to punkty z danej chwili; pasy to progi temperatury; kropki pod osią to zdarzenia, które dały punkty (najedź, by zobaczyć szczegóły).",
    tasks: "Zadania",
    no_tasks: "Brak zadań.",
    due: "termin",
    outcomes: "Wyniki",
    no_outcomes: "Brak zapisanych wyników.",
    timeline: "Historia",
    when: "Kiedy",
    channel: "Kanał",
    event: "Zdarzenie",
    rules: "Reguły",
    awarded: "Punkty",
    left_now: "Zostało",
    funnel_title: "Lejek sprzedaży",
    by_channel: "Według kanału",
    by_location: "Według salonu",
    by_source: "Według źródła",
    by_week: "Według tygodnia",
    all_time: "Od początku",
    last_7_days: "Ostatnie 7 dni",
    last_30_days: "Ostatnie 30 dni",
    last_90_days: "Ostatnie 90 dni",
    all_profiles: "Wszyscy klienci",
    of_previous: "z poprzedniego etapu",
    profiles: "Klienci",
    anonymous_col: "Wciąż anonimowi",
    from_previous: "Z poprzedniego etapu",
    median_time: "Mediana czasu",
    won: "Sprzedaż",
    nothing_yet: "Jeszcze nic.",
    engaged_to_appointment: "Zainteresowani → wizyta",
    learnings_title: "Co mówi historia o planie punktacji",
    learnings_hint: "Które sygnały i ścieżki poprzedzają wizyty, jak dobrze plan układa klientów i jaki plan proponuje model. Liczone z całej historii zdarzeń.",
    run_analysis: "Przelicz analizę",
    no_analyst: "Ten serwer nie ma skonfigurowanej analizy.",
    analysis_failed: "Analiza się nie udała",
    recommended_plan: "Proponowany plan",
    recommended_hint: "Obecny plan z wyuczonymi punktami i modelem. Czerwone linie znikają, zielone dochodzą.",
    no_recommendation: "Brak propozycji: w historii jest za mało wyników, żeby się czegoś nauczyć.",
    no_change: "Bez zmian.",
    stale_analysis: "Po tej analizie opublikowano nowszy plan: przelicz analizę, żeby dostać propozycję dla aktywnego planu.",
    review_and_publish: "Sprawdź i opublikuj",
    plan_title: "Plan punktacji",
    edit_plan: "Edytuj plan",
    edit_hint: "Zmień YAML poniżej i sprawdź go: nic nie zacznie działać, dopóki nie opublikujesz.",
    versions: "Wersje",
    created: "Utworzono",
    origin: "Skąd",
    live_badge: "aktywny",
    diff_vs_live: "różnice z aktywnym",
    validate: "Sprawdź",
    cancel: "Anuluj",
    validate_title: "Sprawdzenie planu",
    plan_valid: "Plan jest poprawny.",
    changes_vs_live: "Zmiany względem aktywnego planu",
    publish: "Opublikuj",
    edit_again: "Popraw jeszcze",
    tiers_list: "Progi",
    has_model: "ma model prognozy",
};

/// Polish plural form: 1, 2–4 (not 12–14), 5+.
fn pl_plural(n: usize, one: &'static str, few: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) {
        few
    } else {
        many
    }
}

impl Words {
    fn en(&self) -> bool {
        self.lang == Lang::En
    }

    /// "and 12 more".
    pub fn and_more(&self, n: usize) -> String {
        let n_text = super::num(self.lang, n as f64, 0);
        if self.en() {
            format!("… and {n_text} more")
        } else {
            format!(
                "… i {n_text} {}",
                pl_plural(n, "kolejna osoba", "kolejne osoby", "kolejnych osób")
            )
        }
    }

    /// "Chance of an appointment".
    pub fn chance_of(&self, outcome: &str) -> String {
        if self.en() {
            format!("Chance of: {outcome}")
        } else {
            format!("Szansa na: {outcome}")
        }
    }

    /// The name of an outcome.
    pub fn outcome_label(&self, k: OutcomeKind) -> &'static str {
        match (self.lang, k) {
            (Lang::En, OutcomeKind::Appointment) => "appointment",
            (Lang::En, OutcomeKind::Shown) => "showed up",
            (Lang::En, OutcomeKind::NoShow) => "no-show",
            (Lang::En, OutcomeKind::TestDrive) => "test drive",
            (Lang::En, OutcomeKind::Sale) => "sale",
            (Lang::En, OutcomeKind::Lost) => "lost",
            (Lang::Pl, OutcomeKind::Appointment) => "umówiona wizyta",
            (Lang::Pl, OutcomeKind::Shown) => "przyszedł na wizytę",
            (Lang::Pl, OutcomeKind::NoShow) => "nie przyszedł",
            (Lang::Pl, OutcomeKind::TestDrive) => "jazda próbna",
            (Lang::Pl, OutcomeKind::Sale) => "sprzedaż",
            (Lang::Pl, OutcomeKind::Lost) => "stracony",
        }
    }

    /// The name of a task result.
    pub fn result_label(&self, r: TaskResult) -> &'static str {
        match (self.lang, r) {
            (Lang::En, TaskResult::Contacted) => "Spoke with them",
            (Lang::En, TaskResult::NoAnswer) => "No answer",
            (Lang::En, TaskResult::AppointmentSet) => "Appointment booked",
            (Lang::En, TaskResult::NotInterested) => "Not interested",
            (Lang::En, TaskResult::WrongPerson) => "Wrong person",
            (Lang::Pl, TaskResult::Contacted) => "Rozmowa odbyta",
            (Lang::Pl, TaskResult::NoAnswer) => "Nie odbiera",
            (Lang::Pl, TaskResult::AppointmentSet) => "Umówiona wizyta",
            (Lang::Pl, TaskResult::NotInterested) => "Niezainteresowany",
            (Lang::Pl, TaskResult::WrongPerson) => "Pomyłka (inna osoba)",
        }
    }

    /// The name of a task status.
    pub fn status_label(&self, s: TaskStatus) -> &'static str {
        match (self.lang, s) {
            (Lang::En, TaskStatus::Open) => "open",
            (Lang::En, TaskStatus::Done) => "done",
            (Lang::En, TaskStatus::Expired) => "expired",
            (Lang::En, TaskStatus::Merged) => "merged",
            (Lang::Pl, TaskStatus::Open) => "otwarte",
            (Lang::Pl, TaskStatus::Done) => "załatwione",
            (Lang::Pl, TaskStatus::Expired) => "wygasło",
            (Lang::Pl, TaskStatus::Merged) => "połączone",
        }
    }

    /// The name of a funnel stage.
    pub fn stage_label(&self, stage: &str) -> &'static str {
        match (self.lang, stage) {
            (Lang::En, "engaged") => "Engaged",
            (Lang::En, "cta") => "Call to action",
            (Lang::En, "lead") => "Lead (known)",
            (Lang::En, "appointment") => "Appointment",
            (Lang::En, _) => "Outcome",
            (Lang::Pl, "engaged") => "Zainteresowani",
            (Lang::Pl, "cta") => "Kliknęli CTA",
            (Lang::Pl, "lead") => "Lead (znany)",
            (Lang::Pl, "appointment") => "Wizyta",
            (Lang::Pl, _) => "Wynik",
        }
    }

    /// "1,234 profiles, by when their journey began".
    pub fn funnel_hint(&self, profiles: usize) -> String {
        let n = super::num(self.lang, profiles as f64, 0);
        if self.en() {
            format!(
                "{n} profiles whose journey began in the period; each stage counts the people who reached it."
            )
        } else {
            format!(
                "{n} {} z podróżą rozpoczętą w tym okresie; każdy etap liczy osoby, które do niego doszły.",
                pl_plural(profiles, "klient", "klientów", "klientów")
            )
        }
    }

    /// A duration in hours, shown as hours or days.
    pub fn hours(&self, h: f64) -> String {
        if h < 1.0 {
            return format!("{} min", super::num(self.lang, h * 60.0, 0));
        }
        let (value, unit_en, unit_pl) = if h >= 48.0 {
            (h / 24.0, "days", "dni")
        } else {
            (h, "h", "godz.")
        };
        let v = super::num(self.lang, value, 1);
        if self.en() {
            format!("{v} {unit_en}")
        } else {
            format!("{v} {unit_pl}")
        }
    }

    /// When, on which plan, from how much.
    pub fn analysis_meta(
        &self,
        at: &str,
        version: i64,
        events: u64,
        profiles: u64,
        seconds: f64,
    ) -> String {
        let (e, p, s) = (
            super::num(self.lang, events as f64, 0),
            super::num(self.lang, profiles as f64, 0),
            super::num(self.lang, seconds, 1),
        );
        if self.en() {
            format!(
                "Analysed {at} UTC with plan version {version}: {e} events, {p} profiles, in {s} s."
            )
        } else {
            format!(
                "Analiza z {at} UTC, plan w wersji {version}: {e} zdarzeń, {p} klientów, {s} s."
            )
        }
    }

    /// The analysis is running.
    pub fn analysis_running(&self, since: &str) -> String {
        if self.en() {
            format!("The analysis is running (since {since} UTC); this page refreshes itself.")
        } else {
            format!("Analiza trwa (od {since} UTC); strona odświeży się sama.")
        }
    }

    /// "Version 3".
    pub fn version_title(&self, v: i64) -> String {
        if self.en() {
            format!("Version {v}")
        } else {
            format!("Wersja {v}")
        }
    }

    /// "No version 9".
    pub fn no_version(&self, v: i64) -> String {
        if self.en() {
            format!("There is no version {v}.")
        } else {
            format!("Nie ma wersji {v}.")
        }
    }

    /// "Version 2 → version 3".
    pub fn diff_title(&self, from: i64, to: i64) -> String {
        if self.en() {
            format!("Version {from} → version {to}")
        } else {
            format!("Wersja {from} → wersja {to}")
        }
    }

    /// A new version was published.
    pub fn published(&self, v: i64) -> String {
        if self.en() {
            format!(
                "Version {v} is published: history is being scored with it, and it goes live when that is done."
            )
        } else {
            format!(
                "Wersja {v} opublikowana: historia jest właśnie przeliczana i plan zacznie działać, gdy to się skończy."
            )
        }
    }

    /// Rescoring progress.
    pub fn rescoring(&self, v: i64, done: u64, total: u64) -> String {
        let pct = if total > 0 {
            done as f64 / total as f64
        } else {
            1.0
        };
        let p = super::pct(self.lang, pct);
        if self.en() {
            format!("Scoring history with version {v}: {p} done.")
        } else {
            format!("Przeliczanie historii wersją {v}: {p}.")
        }
    }

    /// "The plan has 2 errors".
    pub fn plan_invalid(&self, n: usize) -> String {
        if self.en() {
            format!(
                "The plan has {n} error{}; fix and validate again.",
                if n == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "Plan ma {n} {}; popraw i sprawdź ponownie.",
                pl_plural(n, "błąd", "błędy", "błędów")
            )
        }
    }

    /// "line 3, column 5".
    pub fn line_col(&self, line: u64, col: u64) -> String {
        if self.en() {
            format!("line {line}, column {col}")
        } else {
            format!("wiersz {line}, kolumna {col}")
        }
    }

    /// Counts in the plan summary.
    pub fn n_signals(&self, n: usize) -> String {
        if self.en() {
            format!("{n} signals")
        } else {
            format!("{n} {}", pl_plural(n, "sygnał", "sygnały", "sygnałów"))
        }
    }

    /// Fit rules.
    pub fn n_fit_rules(&self, n: usize) -> String {
        if self.en() {
            format!("{n} fit rules")
        } else {
            format!(
                "{n} {} dopasowania",
                pl_plural(n, "reguła", "reguły", "reguł")
            )
        }
    }

    /// Sequences.
    pub fn n_sequences(&self, n: usize) -> String {
        if self.en() {
            format!("{n} sequences")
        } else {
            format!(
                "{n} {}",
                pl_plural(n, "sekwencja", "sekwencje", "sekwencji")
            )
        }
    }

    /// Overrides and disqualifiers.
    pub fn n_overrides(&self, o: usize, d: usize) -> String {
        if self.en() {
            format!("{o} escalations, {d} disqualifiers")
        } else {
            format!(
                "{o} {}, {d} {}",
                pl_plural(o, "eskalacja", "eskalacje", "eskalacji"),
                pl_plural(d, "wykluczenie", "wykluczenia", "wykluczeń")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polish_plurals() {
        assert_eq!(PL.n_signals(1), "1 sygnał");
        assert_eq!(PL.n_signals(3), "3 sygnały");
        assert_eq!(PL.n_signals(12), "12 sygnałów");
        assert_eq!(PL.n_signals(22), "22 sygnały");
        assert_eq!(
            PL.plan_invalid(5),
            "Plan ma 5 błędów; popraw i sprawdź ponownie."
        );
        assert_eq!(
            EN.plan_invalid(1),
            "The plan has 1 error; fix and validate again."
        );
    }
}
