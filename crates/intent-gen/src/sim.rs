//! One profile's life: a hidden intent and persona, web and kiosk sessions, e-mails, and the
//! outcomes recorded by the CRM.

use intent_core::time::{DAY, HOUR, MINUTE, SECOND, Ts, WEEK};

use crate::emit::Emitter;
use crate::vocab::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Persona {
    Buyer,
    Researcher,
    /// Clicks offers and accessories, never buys.
    Clicker,
    JobSeeker,
    Service,
    Employee,
    Competitor,
}

const PERSONAS: [(Persona, u32); 7] = [
    (Persona::Buyer, 200),
    (Persona::Researcher, 450),
    (Persona::Clicker, 120),
    (Persona::JobSeeker, 80),
    (Persona::Service, 130),
    (Persona::Employee, 10),
    (Persona::Competitor, 10),
];

struct Profile {
    idx: u64,
    persona: Persona,
    /// Hidden purchase intent in [0, 1].
    intent: f64,
    /// Favourite model and dealership (indexes into `MODELS`, `LOCATIONS`).
    model: usize,
    loc: usize,
    user: String,
    /// A second, CRM-side user id joined by an `alias` (some profiles only).
    crm: Option<String>,
    anon: [String; 2],
    devices: usize,
    /// When the person first identified.
    ident_at: Option<Ts>,
    /// Whether each web device has identified.
    known: [bool; 2],
    /// First sales-lead action (contact / test-drive form, kiosk call to action) while known.
    lead_at: Option<Ts>,
    /// Last engagement of any kind.
    last_seen: Ts,
    email: Option<String>,
    opted_in: bool,
    identified: bool,
}

impl Profile {
    fn web_user(&self, device: usize) -> Option<&str> {
        self.known[device].then_some(self.user.as_str())
    }

    fn crm_user(&self) -> &str {
        self.crm.as_deref().unwrap_or(&self.user)
    }
}

/// A session in the profile's timeline.
#[derive(Clone, Copy)]
struct Session {
    at: Ts,
    kiosk: bool,
}

/// Generates all messages of profile `idx` into `em`.
pub(crate) fn profile(em: &mut Emitter, idx: u64, start: Ts) {
    let t_end = em.t_end();
    if t_end <= start {
        return;
    }
    let persona = PERSONAS[em.weighted(PERSONAS.iter().map(|p| p.1))].0;
    let u = em.u();
    let intent = match persona {
        Persona::Buyer => 0.3 + 0.7 * u.powf(0.8),
        Persona::Researcher => 0.6 * u.powf(1.5),
        Persona::Clicker => 0.15 * u,
        Persona::Service => 0.2 * u,
        Persona::Employee => 0.1 * u,
        Persona::JobSeeker | Persona::Competitor => 0.05 * u,
    };
    let f = intent;
    let model = em.weighted(MODELS.iter().map(|m| m.weight));
    let loc = em.weighted(LOCATIONS.iter().map(|l| l.weight));
    let devices = if em.chance(0.15) { 2 } else { 1 };
    let mut p = Profile {
        idx,
        persona,
        intent,
        model,
        loc,
        user: format!("u-{idx}"),
        crm: None,
        anon: [format!("a-{idx:x}-0"), format!("a-{idx:x}-1")],
        devices,
        ident_at: None,
        known: [false; 2],
        lead_at: None,
        last_seen: start,
        email: None,
        opted_in: false,
        identified: false,
    };

    // --- the timeline -----------------------------------------------------------------------
    let mean_extra = match persona {
        Persona::Buyer => 0.6 + 2.5 * f,
        Persona::Researcher => 0.3 + 2.0 * f,
        Persona::Clicker => 1.0,
        Persona::JobSeeker => 0.5,
        Persona::Service => 0.5,
        Persona::Employee => 3.0,
        Persona::Competitor => 2.5,
    };
    let mut n_web = 1 + em.exp(mean_extra) as usize;
    if em.chance(0.03) {
        n_web *= 2 + em.below(4); // the heavy tail: a few people browse a lot
    }
    let n_web = n_web.min(60);
    let p_kiosk = match persona {
        Persona::Buyer => 0.2 + 0.5 * f,
        Persona::Researcher => 0.04 + 0.25 * f,
        Persona::Clicker => 0.04,
        Persona::JobSeeker => 0.02,
        Persona::Service => 0.3,
        Persona::Employee => 0.4,
        Persona::Competitor => 0.15,
    };
    let n_kiosk = if em.chance(p_kiosk) {
        1 + usize::from(em.chance(0.15 + 0.3 * f)) + usize::from(em.chance(0.1 * f))
    } else {
        0
    };
    let window = t_end - start;
    let span = ((DAY as f64 * em.exp(5.0 + 15.0 * f)) as i64).clamp(HOUR, window);
    let first = start + em.range(0, window - span + 1);
    let mut sessions: Vec<Session> = Vec::with_capacity(n_web + n_kiosk);
    for i in 0..n_web + n_kiosk {
        let kiosk = i >= n_web;
        let day = (first + em.range(0, span) - start) / DAY;
        let time_of_day = if kiosk {
            em.range(9 * HOUR, 19 * HOUR)
        } else {
            em.weighted(WEB_HOURS.iter().copied()) as i64 * HOUR + em.range(0, HOUR)
        };
        sessions.push(Session {
            at: start + day * DAY + time_of_day,
            kiosk,
        });
    }
    sessions.sort_by_key(|s| s.at);

    let p_ident = match persona {
        Persona::Buyer => 0.4 + 0.4 * f,
        Persona::Researcher => 0.2 + 0.4 * f,
        Persona::Clicker | Persona::JobSeeker => 0.3,
        Persona::Service => 0.6,
        Persona::Employee => 0.9,
        Persona::Competitor => 0.5,
    };
    let n = sessions.len();
    let ident_session = em
        .chance(p_ident)
        .then(|| ((n as f64 * em.u().sqrt()) as usize).min(n - 1));
    if em.chance(0.06) {
        p.crm = Some(format!("crm-{}", 700_000 + idx));
    }

    let mut cursor = start;
    for (i, s) in sessions.iter().enumerate() {
        // Sessions on the same day may overlap: start each after the previous one ended.
        let at = s.at.max(cursor + em.range(10 * MINUTE, 3 * HOUR));
        let ident_here = ident_session == Some(i);
        cursor = if s.kiosk {
            kiosk_session(em, &mut p, at, ident_here, i)
        } else {
            web_session(em, &mut p, at, ident_here)
        };
        p.last_seen = p.last_seen.max(cursor);
    }
    emails(em, &mut p, start);
    outcomes(em, &mut p);
    if p.identified {
        em.stats.identified += 1;
    }
}

/// Time between two clicks in a session.
fn gap(em: &mut Emitter, f: f64) -> Ts {
    em.log_uniform(6 * SECOND, (90.0 + 240.0 * f) as i64 * SECOND) + em.range(0, SECOND)
}

fn page(
    em: &mut Emitter,
    p: &Profile,
    device: usize,
    t: Ts,
    kind: &PageKind,
    model: Option<usize>,
) {
    em.begin("page", t, p.web_user(device), Some(&p.anon[device]));
    em.top_str("name", kind.name);
    em.open("properties");
    page_properties(em, p, kind, model);
    em.close();
    em.end_now("web");
}

/// A page view's properties: category, model and path, dealership.
fn page_properties(em: &mut Emitter, p: &Profile, kind: &PageKind, model: Option<usize>) {
    em.s("category", kind.category);
    if let Some(m) = model {
        em.s("model", MODELS[m].name);
        em.s_parts("path", &[kind.path, MODELS[m].slug]);
    } else {
        em.s("path", kind.path);
    }
    em.s("location", LOCATIONS[p.loc].city);
}

fn track_web(em: &mut Emitter, p: &Profile, device: usize, t: Ts, event: &str) {
    em.begin("track", t, p.web_user(device), Some(&p.anon[device]));
    em.top_str("event", event);
    em.open("properties");
}

/// A model: the favourite most of the time.
fn some_model(em: &mut Emitter, p: &Profile, loyalty: f64) -> usize {
    if em.chance(loyalty) {
        p.model
    } else {
        em.weighted(MODELS.iter().map(|m| m.weight))
    }
}

/// One web visit; returns when it ended.
fn web_session(em: &mut Emitter, p: &mut Profile, at: Ts, ident_here: bool) -> Ts {
    let f = p.intent;
    let d = if p.devices == 2 && em.chance(0.35) {
        1
    } else {
        0
    };
    let mut t = at;
    if p.ident_at.is_some() && !p.known[d] {
        // A known person on a device that has not identified yet: they log in (or, sometimes,
        // the CRM stitches the device with an alias).
        if d == 1 && em.chance(0.3) {
            em.begin("alias", t, Some(&p.user), None);
            em.top_str("previousId", &p.anon[d]);
            em.end_now("web");
            p.known[d] = true;
        } else {
            identify(em, p, d, t, false);
        }
        t += gap(em, f);
    }
    let step = |em: &mut Emitter, t: &mut Ts, kind: &PageKind, model: Option<usize>| {
        page(em, p, d, *t, kind, model);
        *t += gap(em, f);
    };
    match p.persona {
        Persona::Buyer | Persona::Researcher | Persona::Employee => {
            if em.chance(0.5) {
                step(em, &mut t, &HOME, None);
            }
            let views = 1 + em.exp(0.5 + 1.5 * f) as usize;
            let mut last_model = p.model;
            for _ in 0..views.min(15) {
                last_model = some_model(em, p, 0.55);
                step(em, &mut t, &MODEL, Some(last_model));
            }
            if em.chance(0.15 + 0.35 * f) {
                step(em, &mut t, &OFFERS_PAGE, None);
            }
            if em.chance(0.08 + 0.5 * f) {
                step(em, &mut t, &FINANCING, None);
            }
            if em.chance(0.04 + 0.4 * f) {
                step(em, &mut t, &CONFIGURATOR, Some(last_model));
                if em.chance(0.3 + 0.6 * f) {
                    track_web(em, p, d, t, "Configurator Completed");
                    em.s("model", MODELS[last_model].name);
                    em.close();
                    em.end_now("web");
                    t += gap(em, f);
                }
            }
            if em.chance(0.03 + 0.35 * f) {
                offer_download(em, p, d, &mut t, last_model);
            }
            if em.chance(0.03) {
                product_added(em, p, d, &mut t, last_model);
            }
            if em.chance(0.03) {
                page(em, p, d, t, &SERVICE, None);
                t += gap(em, f);
            }
            if em.chance(if p.persona == Persona::Employee {
                0.2
            } else {
                0.01
            }) {
                page(em, p, d, t, &CAREERS, None);
                t += gap(em, f);
            }
        }
        Persona::Clicker => {
            if em.chance(0.5) {
                step(em, &mut t, &HOME, None);
            }
            for _ in 0..1 + em.below(2) {
                step(em, &mut t, &OFFERS_PAGE, None);
                if em.chance(0.7) {
                    let m = some_model(em, p, 0.3);
                    product_added(em, p, d, &mut t, m);
                }
            }
            if em.chance(0.6) {
                let m = some_model(em, p, 0.3);
                step(em, &mut t, &MODEL, Some(m));
            }
            if em.chance(0.15) {
                let m = some_model(em, p, 0.3);
                offer_download(em, p, d, &mut t, m);
            }
            if em.chance(0.05) {
                step(em, &mut t, &FINANCING, None);
            }
        }
        Persona::JobSeeker => {
            if em.chance(0.6) {
                step(em, &mut t, &HOME, None);
            }
            for _ in 0..1 + em.below(3) {
                step(em, &mut t, &CAREERS, None);
            }
            if em.chance(0.2) {
                let m = some_model(em, p, 0.0);
                step(em, &mut t, &MODEL, Some(m));
            }
        }
        Persona::Service => {
            if em.chance(0.4) {
                step(em, &mut t, &HOME, None);
            }
            for _ in 0..1 + em.below(2) {
                step(em, &mut t, &SERVICE, None);
            }
            if em.chance(0.2) {
                step(em, &mut t, &MODEL, Some(p.model));
            }
            if em.chance(0.05) {
                step(em, &mut t, &OFFERS_PAGE, None);
            }
        }
        Persona::Competitor => {
            step(em, &mut t, &OFFERS_PAGE, None);
            for _ in 0..2 + em.below(4) {
                let m = some_model(em, p, 0.0);
                step(em, &mut t, &MODEL, Some(m));
            }
            if em.chance(0.7) {
                step(em, &mut t, &FINANCING, None);
            }
            if em.chance(0.5) {
                let m = some_model(em, p, 0.0);
                step(em, &mut t, &CONFIGURATOR, Some(m));
                track_web(em, p, d, t, "Configurator Completed");
                em.s("model", MODELS[m].name);
                em.close();
                em.end_now("web");
                t += gap(em, f);
            }
            if em.chance(0.5) {
                let m = some_model(em, p, 0.0);
                offer_download(em, p, d, &mut t, m);
            }
        }
    }

    // Forms: the identifying one, or a later one from a known visitor.
    if ident_here && p.ident_at.is_none() {
        let form = first_form(em, p);
        form_submitted(em, p, d, t, form);
        let t_ident = t + em.range(SECOND, 5 * SECOND);
        identify(em, p, d, t_ident, false);
        if matches!(form, "contact" | "test_drive") {
            lead(p, t);
        }
        t += gap(em, f);
    } else if p.known[d] {
        let form = match p.persona {
            Persona::Buyer | Persona::Researcher if em.chance(0.25 * f) => {
                Some(if em.chance(0.4 + 0.4 * f) {
                    "test_drive"
                } else {
                    "contact"
                })
            }
            Persona::Service if em.chance(0.25) => Some("service"),
            _ => None,
        };
        if let Some(form) = form {
            form_submitted(em, p, d, t, form);
            if form != "service" {
                lead(p, t);
            }
            t += gap(em, f);
        }
    }
    t
}

/// The form a person fills in when they first leave their e-mail.
fn first_form(em: &mut Emitter, p: &Profile) -> &'static str {
    let f = p.intent;
    match p.persona {
        Persona::Buyer | Persona::Researcher => {
            if em.chance(0.25 + 0.6 * f) {
                if em.chance(0.3 + 0.5 * f) {
                    "test_drive"
                } else {
                    "contact"
                }
            } else {
                "newsletter"
            }
        }
        Persona::Service => {
            if em.chance(0.8) {
                "service"
            } else {
                "newsletter"
            }
        }
        Persona::JobSeeker => {
            if em.chance(0.3) {
                "contact"
            } else {
                "newsletter"
            }
        }
        Persona::Clicker | Persona::Employee | Persona::Competitor => {
            if em.chance(0.25) {
                "contact"
            } else {
                "newsletter"
            }
        }
    }
}

fn lead(p: &mut Profile, t: Ts) {
    if p.lead_at.is_none() {
        p.lead_at = Some(t);
    }
}

fn form_submitted(em: &mut Emitter, p: &Profile, d: usize, t: Ts, form: &str) {
    track_web(em, p, d, t, "Form Submitted");
    em.s("form", form);
    if matches!(form, "test_drive" | "contact") {
        em.s("model", MODELS[p.model].name);
    }
    em.s("location", LOCATIONS[p.loc].city);
    em.close();
    em.end_now("web");
}

fn offer_download(em: &mut Emitter, p: &Profile, d: usize, t: &mut Ts, model: usize) {
    page(em, p, d, *t, &OFFERS_PAGE, None);
    *t += gap(em, p.intent);
    track_web(em, p, d, *t, "Offer Downloaded");
    em.s("model", MODELS[model].name);
    let offer = em.pick(OFFERS);
    em.s("offer", offer);
    em.close();
    em.end_now("web");
    *t += gap(em, p.intent);
}

fn product_added(em: &mut Emitter, p: &Profile, d: usize, t: &mut Ts, model: usize) {
    track_web(em, p, d, *t, "Product Added");
    let product = em.pick(PRODUCTS);
    em.s("product_id", product);
    em.s("model", MODELS[model].name);
    let price = 100 * em.range(2, 60) as u64;
    em.n("price", price);
    em.close();
    em.end_now("web");
    *t += gap(em, p.intent);
}

/// Sends an identify for web device `d` (`walk_in`: the person came in through the showroom).
fn identify(em: &mut Emitter, p: &mut Profile, d: usize, t: Ts, walk_in: bool) {
    em.begin("identify", t, Some(&p.user), Some(&p.anon[d]));
    traits(em, p, walk_in);
    if em.end_now("web") {
        p.identified = true;
    }
    p.known[d] = true;
    note_identified(em, p, t);
}

fn note_identified(em: &mut Emitter, p: &mut Profile, t: Ts) {
    if p.ident_at.is_none() {
        p.ident_at = Some(t);
        p.opted_in = em.chance(0.85);
    }
}

/// Writes the `traits` object: everything on the first identify, just the e-mail afterwards.
fn traits(em: &mut Emitter, p: &mut Profile, walk_in: bool) {
    if p.email.is_some() {
        em.open("traits");
        em.s("email", p.email.as_deref().unwrap_or_default());
        em.close();
        return;
    }
    let first = em.below(FIRST_NAMES.len());
    let last = LAST_NAMES[em.below(LAST_NAMES.len())];
    let last = match last.strip_suffix("ski") {
        Some(stem) if first < FEMALE => format!("{stem}ska"),
        _ => last.to_owned(),
    };
    let company = match p.persona {
        Persona::Employee => Some(EMPLOYER),
        Persona::Competitor => Some(COMPETITOR),
        _ if em.chance(0.2) => Some(em.pick(COMPANIES)),
        _ => None,
    };
    let domain = match company {
        Some(c) if matches!(p.persona, Persona::Employee) || em.chance(0.4) => c.1,
        _ => MAIL_DOMAINS[em.weighted(MAIL_DOMAINS.iter().map(|d| d.1))].0,
    };
    let email = if em.chance(0.5) {
        format!("{}.{last}{}@{domain}", FIRST_NAMES[first], em.range(1, 100))
    } else {
        format!("{}.{last}@{domain}", FIRST_NAMES[first])
    };
    em.open("traits");
    em.s("email", &email);
    p.email = Some(email);
    if walk_in || em.chance(0.4) {
        let mut phone = String::with_capacity(12);
        phone.push_str("+48");
        phone.push(char::from(b'5' + em.below(4) as u8));
        for _ in 0..8 {
            phone.push(char::from(b'0' + em.below(10) as u8));
        }
        em.s("phone", &phone);
    }
    let region = if em.chance(0.75) {
        LOCATIONS[p.loc].region
    } else {
        em.pick(REGIONS)
    };
    em.s("region", region);
    let age = match p.persona {
        Persona::JobSeeker => em.weighted([30, 40, 15, 10, 5, 0].into_iter()),
        Persona::Buyer => em.weighted([4, 18, 28, 26, 16, 8].into_iter()),
        _ => em.weighted([10, 25, 22, 18, 15, 10].into_iter()),
    };
    em.s("age_band", AGE_BANDS[age]);
    let industry = match p.persona {
        Persona::Employee | Persona::Competitor => "automotive",
        _ => em.pick(INDUSTRIES),
    };
    em.s("industry", industry);
    if let Some(c) = company {
        em.s("company", c.0);
        let size = match p.persona {
            Persona::Employee | Persona::Competitor => "201+",
            _ => em.pick(COMPANY_SIZES),
        };
        em.s("company_size", size);
    } else if em.chance(0.1) {
        em.s("company_size", "1-10");
    }
    let source = if walk_in {
        "walk_in"
    } else {
        ["google", "facebook", "newsletter", "walk_in", "referral"]
            [em.weighted([40, 25, 12, 8, 15].into_iter())]
    };
    em.s("source", source);
    em.s("location", LOCATIONS[p.loc].city);
    em.close();
}

/// One kiosk session in a showroom; returns when it ended. Its messages reach the collector
/// together, when the kiosk next syncs.
fn kiosk_session(em: &mut Emitter, p: &mut Profile, at: Ts, ident_here: bool, k: usize) -> Ts {
    let f = p.intent;
    let loc = if em.chance(0.85) {
        p.loc
    } else {
        em.below(LOCATIONS.len())
    };
    let location = &LOCATIONS[loc];
    let kiosk_id = em.pick(location.kiosks);
    let session = format!("ks-{:x}-{k:x}", p.idx);
    let anon = format!("kiosk-{:x}-{k:x}", p.idx);
    let batch_from = em.entries.len();

    let mut path: Vec<Screen> = vec![S_HOME];
    let model = some_model(em, p, 0.7);
    let cta = match p.persona {
        Persona::Buyer | Persona::Researcher | Persona::Employee => {
            path.push(S_MODELS);
            path.push(S_MODEL_DETAIL);
            if em.chance(0.3) {
                path.push(S_MODEL_DETAIL);
            }
            let financing = em.chance(0.15 + 0.6 * f);
            if financing {
                path.push(S_FINANCING);
            }
            if em.chance(if financing { 0.2 + 0.6 * f } else { 0.05 }) {
                path.push(S_TRADE_IN);
            }
            if em.chance(0.2) {
                path.push(S_OFFERS);
            }
            if em.chance(0.1 + 0.75 * f) || ident_here {
                Some(if em.chance(0.005 + 0.1 * f * f) {
                    "ask_person"
                } else {
                    ["test_drive", "financing", "contact"][em.weighted(
                        [(10.0 + 60.0 * f) as u32, if financing { 30 } else { 8 }, 20].into_iter(),
                    )]
                })
            } else {
                None
            }
        }
        Persona::Service => {
            if em.chance(0.3) {
                path.push(S_MODELS);
                path.push(S_MODEL_DETAIL);
            }
            path.push(S_SERVICE);
            (em.chance(0.7) || ident_here).then_some("service")
        }
        Persona::Clicker => {
            path.push(S_MODELS);
            path.push(S_MODEL_DETAIL);
            path.push(S_OFFERS);
            (em.chance(0.1) || ident_here).then_some("contact")
        }
        Persona::JobSeeker => {
            path.push(S_MODELS);
            ident_here.then_some("contact")
        }
        Persona::Competitor => {
            path.extend([S_MODELS, S_MODEL_DETAIL, S_FINANCING, S_OFFERS]);
            ident_here.then_some("contact")
        }
    };

    let mut t = at;
    let mut total_s: u64 = 0;
    let mut seen_model = false;
    for screen in &path {
        let mut dur = em.log_uniform(4, 50) as u64;
        if matches!(screen.screen, "model_detail" | "financing" | "trade_in") {
            dur = (dur as f64 * (1.0 + 4.0 * f)) as u64 + em.below(30) as u64;
        }
        seen_model |= screen.screen == "model_detail";
        em.begin("screen", t, None, Some(&anon));
        em.top_str("name", screen.name);
        em.open("properties");
        em.s("screen", screen.screen);
        em.s("zone", screen.zone);
        em.n("duration_s", dur);
        em.s("session_id", &session);
        em.s("kiosk_id", kiosk_id);
        em.s("location", location.city);
        if seen_model {
            em.s("model", MODELS[model].name);
        }
        em.close();
        em.end_now("showroom");
        total_s += dur;
        t += dur as i64 * SECOND + em.range(300, 3 * SECOND);
    }
    let mut identified_here = false;
    if let Some(cta) = cta {
        em.begin("track", t, None, Some(&anon));
        em.top_str("event", "CTA Tapped");
        em.open("properties");
        em.s("cta", cta);
        em.s("session_id", &session);
        em.s("kiosk_id", kiosk_id);
        em.s("location", location.city);
        if seen_model {
            em.s("model", MODELS[model].name);
        }
        em.close();
        em.end_now("showroom");
        let step = em.range(20 * SECOND, 90 * SECOND);
        t += step;
        total_s += (step / SECOND) as u64;
        // Leaving a phone number (or e-mail) at the kiosk joins the session to the person.
        if ident_here
            || (cta != "service" && em.chance(if p.ident_at.is_some() { 0.3 } else { 0.1 }))
        {
            em.begin("identify", t, Some(&p.user), Some(&anon));
            traits(em, p, true);
            if em.end_now("showroom") {
                p.identified = true;
            }
            note_identified(em, p, t);
            identified_here = true;
            let step = em.range(10 * SECOND, 40 * SECOND);
            t += step;
            total_s += (step / SECOND) as u64;
        }
        if identified_here && cta != "service" {
            lead(p, t);
        }
    }
    em.begin("track", t, None, Some(&anon));
    em.top_str("event", "Kiosk Session Ended");
    em.open("properties");
    em.s("session_id", &session);
    em.n("duration_s", total_s);
    em.n("screens", path.len() as u64);
    em.s("kiosk_id", kiosk_id);
    em.s("location", location.city);
    em.close();
    em.end_now("showroom");
    let sync = t + em.log_uniform(5 * MINUTE, 6 * HOUR);
    em.delay_batch(batch_from, sync);
    t
}

/// A person gets at most this many weekly campaigns (half a year) after identifying.
const MAX_CAMPAIGNS: i64 = 26;

/// Weekly campaigns to known, opted-in people: opens, clicks (with a landing page), bounces,
/// unsubscribes.
fn emails(em: &mut Emitter, p: &mut Profile, start: Ts) {
    let Some(ident_at) = p.ident_at else { return };
    if !p.opted_in {
        return;
    }
    let f = p.intent;
    let bounces = em.chance(0.03);
    let (p_open, p_click) = match p.persona {
        Persona::Buyer | Persona::Researcher => (0.15 + 0.55 * f, 0.15 + 0.55 * f),
        Persona::Clicker => (0.45, 0.5),
        Persona::Competitor => (0.6, 0.4),
        Persona::Employee => (0.3, 0.1),
        Persona::JobSeeker => (0.1, 0.05),
        Persona::Service => (0.3, 0.15),
    };
    let p_unsub = 0.005 + 0.05 * (1.0 - f);
    let first_send = start + 2 * DAY + 10 * HOUR;
    let mut k = ((ident_at - first_send).max(0) + WEEK - 1) / WEEK;
    let last_k = k + MAX_CAMPAIGNS;
    loop {
        let send = first_send + k * WEEK + em.range(0, 40 * MINUTE);
        if send >= em.t_end() || k >= last_k {
            break;
        }
        let campaign = CAMPAIGNS[k as usize % CAMPAIGNS.len()];
        k += 1;
        let user_id = p.user.clone();
        let user = user_id.as_str();
        if bounces {
            let t = send + em.range(10 * SECOND, 5 * MINUTE);
            em.begin("track", t, Some(user), None);
            em.top_str("event", "Email Bounced");
            em.open("properties");
            em.s("campaign", campaign);
            em.close();
            em.end_now("email");
            return;
        }
        if !em.chance(p_open) {
            continue;
        }
        let opened = send + em.log_uniform(MINUTE, 2 * DAY);
        em.begin("track", opened, Some(user), None);
        em.top_str("event", "Email Opened");
        em.open("properties");
        em.s("campaign", campaign);
        em.close();
        em.end_now("email");
        if em.chance(p_click) {
            let clicked = opened + em.range(5 * SECOND, 2 * MINUTE);
            let link = ["offers", "model", "test_drive", "financing", "service"]
                [em.weighted([30, 30, (10.0 + 40.0 * f) as u32, 15, 10].into_iter())];
            em.begin("track", clicked, Some(user), None);
            em.top_str("event", "Email Link Clicked");
            em.open("properties");
            em.s("campaign", campaign);
            em.s("link", link);
            em.close();
            em.end_now("email");
            // The link opens the site, which now knows the person on their main device.
            let landing = clicked + em.range(2 * SECOND, 6 * SECOND);
            let kind = match link {
                "offers" => &OFFERS_PAGE,
                "financing" => &FINANCING,
                "service" => &SERVICE,
                _ => &MODEL,
            };
            let model = matches!(link, "model" | "test_drive").then_some(p.model);
            em.begin("page", landing, Some(user), Some(&p.anon[0]));
            em.top_str("name", kind.name);
            em.open("properties");
            page_properties(em, p, kind, model);
            em.s("campaign", campaign);
            em.close();
            em.end_now("web");
            p.known[0] = true;
            p.last_seen = p.last_seen.max(landing);
            if link == "test_drive" && em.chance(0.1 + 0.5 * f) {
                let t = landing + gap(em, f);
                form_submitted(em, p, 0, t, "test_drive");
                lead(p, t);
                p.last_seen = p.last_seen.max(t);
            }
        }
        if em.chance(p_unsub) {
            let t = opened + em.range(30 * SECOND, 5 * MINUTE);
            em.begin("track", t, Some(user), None);
            em.top_str("event", "Unsubscribed");
            em.open("properties");
            em.s("campaign", campaign);
            em.close();
            em.end_now("email");
            return;
        }
    }
}

/// A time during opening hours on or after `t + min_days`, up to `max_days` later.
fn business_time(em: &mut Emitter, t: Ts, min_days: i64, max_days: i64) -> Ts {
    let day = (t / DAY + em.range(min_days, max_days + 1)) * DAY;
    (day + em.range(9 * HOUR, 18 * HOUR)).max(t + HOUR)
}

/// The sales pipeline in the CRM: appointments, test drives, purchases and lost leads.
fn outcomes(em: &mut Emitter, p: &mut Profile) {
    let Some(lead_at) = p.lead_at else { return };
    let f = p.intent;
    let location = LOCATIONS[p.loc].city;
    let model = MODELS[p.model].name;
    let crm = p.crm.clone();
    let user = p.crm_user().to_owned();
    let user = user.as_str();
    if let Some(crm) = &crm {
        // The CRM keeps its own id for the person; an alias ties it to the web user.
        let t = lead_at + em.range(MINUTE, HOUR);
        em.begin("alias", t, Some(&p.user), None);
        em.top_str("previousId", crm);
        em.end_now("crm");
    }
    let p_book = match p.persona {
        Persona::Buyer => 0.35 + 0.6 * f,
        Persona::Researcher => 0.2 + 0.5 * f,
        Persona::Clicker => 0.12,
        Persona::Service => 0.1,
        Persona::JobSeeker | Persona::Employee | Persona::Competitor => 0.05,
    };
    let p_buy = match p.persona {
        Persona::Buyer => 0.1 + 0.85 * f * f,
        Persona::Researcher => 0.6 * f * f,
        Persona::Service => 0.03,
        _ => 0.0,
    };
    let track = |em: &mut Emitter, t: Ts, event: &str| {
        em.begin("track", t, Some(user), None);
        em.top_str("event", event);
        em.open("properties");
        em.s("location", location);
    };
    let mut last = p.last_seen.max(lead_at);
    if em.chance(p_book) {
        let booked = lead_at + em.log_uniform(10 * MINUTE, 3 * DAY);
        let appointment = business_time(em, booked, 1, 10);
        track(em, booked, "Appointment Booked");
        em.s("model", model);
        em.close();
        if em.end_now("crm") {
            em.stats.appointments += 1;
        }
        if em.chance(0.55 + 0.4 * f) {
            track(em, appointment, "Appointment Attended");
            em.close();
            em.end_now("crm");
            last = last.max(appointment);
            if em.chance(0.5 + 0.45 * f) {
                let t = appointment + em.range(20 * MINUTE, 90 * MINUTE);
                track(em, t, "Test Drive Completed");
                em.s("model", model);
                em.close();
                if em.end_now("crm") {
                    em.stats.test_drives += 1;
                }
                last = last.max(t);
            }
            if em.chance(p_buy) {
                let t = business_time(em, last, 1, 21);
                let (lo, hi) = MODELS[p.model].price;
                let value = em.range(i64::from(lo), i64::from(hi) + 1) / 100 * 100;
                track(em, t, "Vehicle Purchased");
                em.s("model", model);
                em.n("value", value as u64);
                em.s("currency", "PLN");
                em.close();
                if em.end_now("crm") {
                    em.stats.sales += 1;
                }
                return;
            }
        } else {
            track(em, appointment + 30 * MINUTE, "Appointment No Show");
            em.close();
            em.end_now("crm");
            last = last.max(appointment);
        }
    }
    if em.chance(0.7) {
        let reason = ["price", "competitor", "no_response", "timing"]
            [em.weighted([(10.0 + 30.0 * f) as u32, (5.0 + 30.0 * f) as u32, 35, 20].into_iter())];
        let t = business_time(em, last, 3, 30);
        track(em, t, "Lead Lost");
        em.s("reason", reason);
        em.close();
        if em.end_now("crm") {
            em.stats.lost += 1;
        }
    }
}
