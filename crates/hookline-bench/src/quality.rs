//! Scenario 8's retrieval quality: a folder with known answers, searched with questions whose
//! answer is one chunk, reported as recall@5 (the answer among the five results) and MRR (the
//! mean of 1/rank of the answer, 0 when it is not among the five). Two sets: a hand-written help
//! centre asked in other words than its own (paraphrases, the hard case for lexical search), and
//! a generated product table asked from templates (a rare name in the question, the easy case).

use serde_json::{json, Value};

use crate::knowledge::{word, Rng, VOCABULARY};
use crate::setup::Environment;

/// A help centre: each `##` section answers one of [`PARAPHRASED`]'s questions.
const HELP: &str = "\
# Orders

## Shipping times
Parcels leave our warehouse within two working days of payment. Delivery inside the country
takes three to five days; abroad it takes up to twelve days.

## Tracking a parcel
Once a parcel leaves the warehouse you receive an email with a tracking link from the carrier.
The link works for sixty days.

## Changing an order
An order can be edited until it is packed, usually within four hours of payment. Open the order
page and choose edit; after packing, cancel it and order again.

## Cancelling an order
Orders not yet shipped can be cancelled from the order page, and the full amount is paid back.

# Returns

## Refunds
Refunds are paid to the original card within fourteen days of the returned item reaching us.
Shipping fees are not paid back unless the item was faulty.

## Return window
Unused items may be sent back within thirty days of delivery in their original packaging.

## Damaged items
If something arrives broken, send a photo to support within seven days and we ship a
replacement at no cost.

# Account

## Password reset
Use the forgot-password link on the sign-in page; a reset email arrives within minutes and its
link expires after one hour.

## Two-factor authentication
Turn on authenticator codes under security settings. Keep the recovery codes somewhere safe:
they are the only way in if the phone is lost.

## Deleting an account
Write to privacy@example.com from the account's address. Personal data is erased within thirty
days; invoices are kept for ten years as the tax law requires.

## Changing the email address
The address can be changed under profile settings; a confirmation link is sent to the new address.

# Billing

## Payment methods
We take Visa, Mastercard, American Express, PayPal and bank transfers. Cash on delivery is not
offered.

## Invoices
Every invoice is a PDF in the orders section of the account, available as soon as the order
ships.

## Currency and taxes
Prices are shown in euros with VAT included. Customers outside the EU pay no VAT but may owe
import duties on arrival.

# Products

## Warranty
Every appliance has a two-year warranty covering manufacturing defects; batteries are covered
for one year.

## Care and cleaning
Wipe wooden surfaces with a dry cloth; never put them in the dishwasher. Oil them twice a year.

## Spare parts
Lids, filters and blades are sold separately in the spare parts section.

# Company

## Opening hours
Support answers by chat and phone from 9:00 to 18:00, Monday to Friday, Central European Time.

## Store locations
Our shops are in Lyon, Ghent and Porto. The Lyon shop also has a repair desk.

## Sustainability
Parcels are packed in recycled cardboard without plastic, and deliveries are carbon offset.
";

/// Questions asked in other words than [`HELP`]'s, with the heading path of the section that
/// answers each.
const PARAPHRASED: &[(&str, &str)] = &[
    (
        "how long until my package arrives",
        "Orders > Shipping times",
    ),
    (
        "when will I get my money back after sending something back",
        "Returns > Refunds",
    ),
    (
        "where can I follow my delivery",
        "Orders > Tracking a parcel",
    ),
    (
        "can I modify what I bought after paying",
        "Orders > Changing an order",
    ),
    (
        "I want to cancel my purchase",
        "Orders > Cancelling an order",
    ),
    (
        "how many days do I have to send an item back",
        "Returns > Return window",
    ),
    (
        "my lamp came broken what do I do",
        "Returns > Damaged items",
    ),
    ("I forgot my password", "Account > Password reset"),
    (
        "how do I set up 2FA codes",
        "Account > Two-factor authentication",
    ),
    (
        "remove all my personal data",
        "Account > Deleting an account",
    ),
    ("update my email", "Account > Changing the email address"),
    ("do you accept paypal", "Billing > Payment methods"),
    (
        "where do I download a receipt for tax",
        "Billing > Invoices",
    ),
    ("are prices including VAT", "Billing > Currency and taxes"),
    ("what does the guarantee cover", "Products > Warranty"),
    (
        "can wooden boards go in the dishwasher",
        "Products > Care and cleaning",
    ),
    ("buy a replacement filter", "Products > Spare parts"),
    (
        "when is customer service available",
        "Company > Opening hours",
    ),
    ("do you have a physical shop", "Company > Store locations"),
    ("is your packaging eco friendly", "Company > Sustainability"),
    (
        "lost phone cannot log in",
        "Account > Two-factor authentication",
    ),
    (
        "do I pay customs fees outside Europe",
        "Billing > Currency and taxes",
    ),
    ("is the battery guaranteed", "Products > Warranty"),
    (
        "can I get my lamp repaired in person",
        "Company > Store locations",
    ),
];

/// Products of the generated table.
const PRODUCTS: u64 = 400;
const KINDS: [&str; 8] = [
    "lamp", "kettle", "chair", "desk", "blender", "toaster", "shelf", "clock",
];
const CITIES: [&str; 6] = ["Lyon", "Ghent", "Porto", "Turin", "Lille", "Malmo"];
const COLOURS: [&str; 5] = ["oak", "black", "white", "brass", "green"];

/// The generated table (a CSV, a row per product) and a question per product with its row.
fn products() -> (String, Vec<(String, i64)>) {
    let mut rng = Rng::new(11);
    let mut csv = String::from("product,made in,delivery days,warranty years,colour\n");
    let mut questions = Vec::new();
    for row in 1..=PRODUCTS {
        // Every product's name is a vocabulary word of its own.
        let name = word(row * 47 % VOCABULARY);
        let kind = KINDS[rng.below(KINDS.len() as u64) as usize];
        let city = CITIES[rng.below(CITIES.len() as u64) as usize];
        let colour = COLOURS[rng.below(COLOURS.len() as u64) as usize];
        let days = 2 + rng.below(9);
        let years = 1 + rng.below(5);
        csv.push_str(&format!("{name} {kind},{city},{days},{years},{colour}\n"));
        let question = match row % 4 {
            0 => format!("how many days does delivery of the {name} {kind} take"),
            1 => format!("where is the {name} made"),
            2 => format!("what warranty does the {kind} {name} have"),
            _ => format!("which colour is {name}"),
        };
        questions.push((question, row as i64));
    }
    (csv, questions)
}

/// One set's figures.
#[derive(Debug, Clone)]
pub struct Quality {
    /// How the organization's searches rank: `lexical`, or `hybrid` (it has an embedding model).
    pub ranking: &'static str,
    pub label: &'static str,
    pub questions: usize,
    pub recall_at_5: f64,
    pub mrr: f64,
    /// The questions whose answer was not among the five, for reading.
    pub missed: Vec<String>,
}

/// Uploads both documents into a folder of their own (of the organization of `key`, whose
/// searches rank as `ranking` says), then asks every question.
pub async fn measure(
    env: &Environment,
    key: &str,
    ranking: &'static str,
) -> anyhow::Result<Vec<Quality>> {
    let folder = crate::knowledge::folder_of(env, key, "quality").await?;
    let (csv, generated) = products();
    let ingested = crate::knowledge::ingest_as(
        env,
        key,
        &folder,
        "quality",
        vec![
            ("help.md".to_owned(), HELP.as_bytes().to_vec()),
            ("products.csv".to_owned(), csv.into_bytes()),
        ],
    )
    .await?;
    if ranking == "hybrid" {
        // Asked before every chunk has its vector, the questions would measure a half-made
        // semantic ranking.
        crate::knowledge::embedded(env, &folder, ingested.chunks).await?;
    }
    let client = reqwest::Client::builder().no_proxy().build()?;
    let search = |query: String| {
        let client = client.clone();
        let folder = folder.clone();
        async move {
            let found: Value = client
                .post(format!("http://{}/v1/knowledge/search", env.hookline))
                .bearer_auth(key)
                .json(&json!({"query": query, "folderIds": [folder], "limit": 5}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            if found["ranking"] != ranking {
                anyhow::bail!("a search of the {ranking} set ranked otherwise: {found}");
            }
            anyhow::Ok(found["results"].as_array().cloned().unwrap_or_default())
        }
    };
    let mut paraphrased = Vec::new();
    for (question, heading) in PARAPHRASED {
        let results = search(question.to_string()).await?;
        let rank = results
            .iter()
            .position(|r| r["source"]["heading"] == *heading);
        paraphrased.push((question.to_string(), rank));
    }
    let mut templated = Vec::new();
    for (question, row) in generated {
        let results = search(question.clone()).await?;
        let rank = results.iter().position(|r| r["source"]["row"] == row);
        templated.push((question, rank));
    }
    Ok(vec![
        figures(ranking, "hand-written paraphrases", &paraphrased),
        figures(ranking, "generated product questions", &templated),
    ])
}

fn figures(
    ranking: &'static str,
    label: &'static str,
    ranks: &[(String, Option<usize>)],
) -> Quality {
    let n = ranks.len().max(1) as f64;
    Quality {
        ranking,
        label,
        questions: ranks.len(),
        recall_at_5: ranks.iter().filter(|(_, r)| r.is_some()).count() as f64 / n,
        mrr: ranks
            .iter()
            .map(|(_, r)| r.map_or(0.0, |r| 1.0 / (r + 1) as f64))
            .sum::<f64>()
            / n,
        missed: ranks
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(q, _)| q.clone())
            .collect(),
    }
}
