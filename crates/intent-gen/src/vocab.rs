//! The fixed vocabulary of Autogrupa Nowak's traffic. Every string here is plain ASCII without
//! quotes or backslashes, so it is written into JSON as is.

/// A car model: name, URL slug, popularity weight, price range in PLN.
pub(crate) struct Model {
    pub name: &'static str,
    pub slug: &'static str,
    pub weight: u32,
    pub price: (u32, u32),
}

pub(crate) const MODELS: &[Model] = &[
    Model {
        name: "Corolla",
        slug: "corolla",
        weight: 25,
        price: (105_000, 165_000),
    },
    Model {
        name: "Yaris",
        slug: "yaris",
        weight: 18,
        price: (90_000, 125_000),
    },
    Model {
        name: "RAV4",
        slug: "rav4",
        weight: 18,
        price: (165_000, 250_000),
    },
    Model {
        name: "C-HR",
        slug: "c-hr",
        weight: 12,
        price: (130_000, 190_000),
    },
    Model {
        name: "Aygo X",
        slug: "aygo-x",
        weight: 8,
        price: (90_000, 105_000),
    },
    Model {
        name: "Camry",
        slug: "camry",
        weight: 6,
        price: (170_000, 230_000),
    },
    Model {
        name: "bZ4X",
        slug: "bz4x",
        weight: 6,
        price: (190_000, 260_000),
    },
    Model {
        name: "Land Cruiser",
        slug: "land-cruiser",
        weight: 7,
        price: (300_000, 450_000),
    },
];

/// A showroom: city (the `location` value), region, weight, kiosk ids.
pub(crate) struct Location {
    pub city: &'static str,
    pub region: &'static str,
    pub weight: u32,
    pub kiosks: &'static [&'static str],
}

pub(crate) const LOCATIONS: &[Location] = &[
    Location {
        city: "warszawa",
        region: "mazowieckie",
        weight: 35,
        kiosks: &["kiosk-waw-1", "kiosk-waw-2", "kiosk-waw-3"],
    },
    Location {
        city: "krakow",
        region: "malopolskie",
        weight: 20,
        kiosks: &["kiosk-krk-1", "kiosk-krk-2"],
    },
    Location {
        city: "poznan",
        region: "wielkopolskie",
        weight: 15,
        kiosks: &["kiosk-poz-1", "kiosk-poz-2"],
    },
    Location {
        city: "gdansk",
        region: "pomorskie",
        weight: 15,
        kiosks: &["kiosk-gda-1", "kiosk-gda-2"],
    },
    Location {
        city: "wroclaw",
        region: "dolnoslaskie",
        weight: 15,
        kiosks: &["kiosk-wro-1", "kiosk-wro-2"],
    },
];

/// The 16 voivodeships, lowercase ASCII.
pub(crate) const REGIONS: &[&str] = &[
    "dolnoslaskie",
    "kujawsko-pomorskie",
    "lubelskie",
    "lubuskie",
    "lodzkie",
    "malopolskie",
    "mazowieckie",
    "opolskie",
    "podkarpackie",
    "podlaskie",
    "pomorskie",
    "slaskie",
    "swietokrzyskie",
    "warminsko-mazurskie",
    "wielkopolskie",
    "zachodniopomorskie",
];

pub(crate) const AGE_BANDS: &[&str] = &["18-24", "25-34", "35-44", "45-54", "55-64", "65+"];

pub(crate) const INDUSTRIES: &[&str] = &[
    "it",
    "finance",
    "construction",
    "transport",
    "retail",
    "manufacturing",
    "healthcare",
    "education",
    "public_sector",
    "agriculture",
    "hospitality",
    "other",
];

pub(crate) const COMPANY_SIZES: &[&str] = &["1-10", "11-50", "51-200", "201+"];

/// Company name and e-mail domain.
pub(crate) const COMPANIES: &[(&str, &str)] = &[
    ("Kowalski Transport Sp. z o.o.", "kowalski-transport.pl"),
    ("Mazur Budownictwo", "mazur-bud.pl"),
    ("Vistula Logistics", "vistula-logistics.pl"),
    ("Baltic Soft", "balticsoft.pl"),
    ("Wawel IT", "wawel-it.pl"),
    ("Odra Trans", "odratrans.pl"),
    ("Tatra Consulting", "tatra-consulting.pl"),
    ("Polbud Serwis", "polbud.pl"),
    ("Zielony Ogrod", "zielonyogrod.pl"),
    ("Mediq Clinic", "mediq.pl"),
];

pub(crate) const EMPLOYER: (&str, &str) = ("Autogrupa Nowak", "autogrupa-nowak.pl");
pub(crate) const COMPETITOR: (&str, &str) = ("Konkurencja Motors", "konkurencja-motors.pl");

/// First names; the first `FEMALE` are female.
pub(crate) const FIRST_NAMES: &[&str] = &[
    "anna",
    "maria",
    "katarzyna",
    "malgorzata",
    "agnieszka",
    "barbara",
    "ewa",
    "magdalena",
    "joanna",
    "aleksandra",
    "piotr",
    "krzysztof",
    "andrzej",
    "tomasz",
    "pawel",
    "jan",
    "michal",
    "marcin",
    "jakub",
    "adam",
    "lukasz",
    "marek",
    "grzegorz",
    "kamil",
];
pub(crate) const FEMALE: usize = 10;

/// Last names in their masculine form (`-ski` becomes `-ska` for women).
pub(crate) const LAST_NAMES: &[&str] = &[
    "nowak",
    "kowalski",
    "wisniewski",
    "wojcik",
    "kowalczyk",
    "kaminski",
    "lewandowski",
    "zielinski",
    "szymanski",
    "wozniak",
    "dabrowski",
    "kozlowski",
    "jankowski",
    "mazur",
    "kwiatkowski",
    "krawczyk",
    "piotrowski",
    "grabowski",
    "nowakowski",
    "pawlowski",
];

/// Private e-mail domains and their weights.
pub(crate) const MAIL_DOMAINS: &[(&str, u32)] = &[
    ("gmail.com", 30),
    ("wp.pl", 20),
    ("onet.pl", 15),
    ("o2.pl", 10),
    ("interia.pl", 10),
    ("outlook.com", 8),
    ("icloud.com", 5),
];

pub(crate) const OFFERS: &[&str] = &[
    "price_list",
    "fleet_offer",
    "spring_promo",
    "financing_offer",
    "hybrid_bonus",
];

pub(crate) const CAMPAIGNS: &[&str] = &[
    "spring_offers",
    "hybrid_week",
    "financing_0pct",
    "service_reminder",
    "test_drive_weekend",
    "fleet_news",
    "new_models",
    "loyalty_club",
];

/// `Product Added` items: the accessories shop that curious visitors click around in.
pub(crate) const PRODUCTS: &[&str] = &[
    "roof_box",
    "floor_mats",
    "winter_tyres",
    "bike_rack",
    "charging_cable",
    "extended_warranty",
];

/// A page category: `properties.category`, page `name`, path (model pages append the slug).
pub(crate) struct PageKind {
    pub category: &'static str,
    pub name: &'static str,
    pub path: &'static str,
}

pub(crate) const HOME: PageKind = PageKind {
    category: "home",
    name: "Home",
    path: "/",
};
pub(crate) const MODEL: PageKind = PageKind {
    category: "model",
    name: "Model",
    path: "/models/",
};
pub(crate) const OFFERS_PAGE: PageKind = PageKind {
    category: "offers",
    name: "Offers",
    path: "/offers",
};
pub(crate) const FINANCING: PageKind = PageKind {
    category: "financing",
    name: "Financing",
    path: "/financing",
};
pub(crate) const CAREERS: PageKind = PageKind {
    category: "careers",
    name: "Careers",
    path: "/careers",
};
pub(crate) const SERVICE: PageKind = PageKind {
    category: "service",
    name: "Service",
    path: "/service",
};
pub(crate) const CONFIGURATOR: PageKind = PageKind {
    category: "configurator",
    name: "Configurator",
    path: "/configurator/",
};

/// A kiosk screen: `properties.screen`, screen `name`, `properties.zone`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Screen {
    pub screen: &'static str,
    pub name: &'static str,
    pub zone: &'static str,
}

pub(crate) const S_HOME: Screen = Screen {
    screen: "home",
    name: "Home",
    zone: "entrance",
};
pub(crate) const S_MODELS: Screen = Screen {
    screen: "models",
    name: "Models",
    zone: "showroom_floor",
};
pub(crate) const S_MODEL_DETAIL: Screen = Screen {
    screen: "model_detail",
    name: "Model Detail",
    zone: "showroom_floor",
};
pub(crate) const S_FINANCING: Screen = Screen {
    screen: "financing",
    name: "Financing",
    zone: "finance_corner",
};
pub(crate) const S_TRADE_IN: Screen = Screen {
    screen: "trade_in",
    name: "Trade-in",
    zone: "finance_corner",
};
pub(crate) const S_OFFERS: Screen = Screen {
    screen: "offers",
    name: "Offers",
    zone: "entrance",
};
pub(crate) const S_SERVICE: Screen = Screen {
    screen: "service",
    name: "Service",
    zone: "service_desk",
};

/// Relative weight of each hour of the day for online activity (evenings peak).
pub(crate) const WEB_HOURS: [u32; 24] = [
    4, 2, 1, 1, 1, 1, 3, 6, 10, 12, 12, 12, 14, 13, 12, 12, 13, 15, 18, 22, 24, 20, 13, 7,
];
