"""Write the multi-page sample PDFs in data/sample/reports/.

    python data/make_sample_pdfs.py [--out data/sample/reports]

All three documents are fictional and written for this project. Each page carries one topic, starts
with a heading line and fits on one physical page, so page N of the content is page N of the PDF and
a fact stated on one page (e.g. "battery storage capacity reached 1.8 GWh") can be cited by page.
Output is deterministic: a fixed creation date (fpdf2 derives the /ID from the content and that
date), so re-running leaves the files unchanged.

Only latin-1 text is used, because the core Helvetica font cannot encode anything else.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF

FIXED_DATE = datetime(2026, 2, 2, 9, 0, 0, tzinfo=timezone.utc)

# Each document: (file name, title, author, subject, [(heading, body), ...]). One tuple per page;
# paragraphs in a body are separated by blank lines.
GRID_REPORT = (
    "annual-grid-report-2025.pdf",
    "Northmere Grid Authority - Annual Report 2025",
    "Northmere Grid Authority",
    "Annual report of a regional electricity transmission and distribution operator",
    [
        (
            "Northmere Grid Authority - Annual Report 2025",
            """\
The Northmere Grid Authority (NGA) owns and operates the high-voltage transmission network and the \
local distribution networks that carry electricity to homes and businesses across the Northmere \
region. We serve 2.6 million customer connections over an area of 41,000 square kilometres, from \
the coastal city of Halvard to the upland communities of the Kestrel Valley, and we employ about \
3,100 people.

This report reviews our performance in the calendar year 2025. It is organised by topic, one topic \
per page: electricity demand; energy storage; reliability and outages; tariffs and customer bills; \
emissions; the generation mix and interconnection; and our outlook for 2026 to 2030.

Message from the Chief Executive

2025 tested the network in ways that our planning had long anticipated. Winter weather arrived \
hard and early, the pace of electrification in homes and transport accelerated, and the retirement \
of our last large coal units changed how the system is balanced in the evening. The network \
performed well, but the year also showed where investment is needed most.

Three commitments guide our work: keep the lights on, keep bills as low as a safe and modern \
network allows, and make electricity in Northmere cleaner every year. The following pages report \
honestly against each of them, including where we fell short. I want to thank our field crews in \
particular, who worked through some of the worst conditions in a generation.

Marit Oyelaran, Chief Executive""",
        ),
        (
            "1. Electricity Demand",
            """\
Total electricity consumption in the Northmere region was 31.7 TWh in 2025, an increase of 2.3% \
on the 31.0 TWh delivered in 2024 and the largest annual rise in more than a decade.

The system reached an all-time peak demand of 6.42 GW at 18:00 on 14 January 2025, during a cold \
snap in which the temperature in Halvard fell to -17 °C. The previous record, 6.05 GW, had stood \
since the winter of 2021. The summer peak was much lower, 4.9 GW on 22 July, when air conditioning \
load coincided with a heatwave. The annual load factor, average demand divided by peak demand, was 56%.

Three drivers account for most of the growth:

- Heat pumps. About 58,000 new domestic heat pumps were registered with the network during the \
year, bringing the regional total to roughly 240,000. Because heat pump output falls in very cold \
weather, they add most to demand exactly when the system is already stretched.
- Electric vehicles. The number of electric vehicles registered in the region rose 41% to 212,000. \
Most charging happens overnight, which helps to fill the overnight demand trough.
- Data centres. Two new data centres near Halvard added about 0.9 TWh of nearly constant load.

Industrial demand fell slightly, by 1.1%, reflecting the closure of a paper mill at Oskarby. \
Weather-corrected residential consumption per household rose 1.8%.""",
        ),
        (
            "2. Energy Storage",
            """\
Energy storage grew faster than any other part of the system in 2025. Grid-scale battery storage \
capacity reached 1.8 GWh in the third quarter, up from 0.7 GWh at the end of 2024, as five new \
battery sites entered service. The network now connects eleven grid-scale battery sites. The \
largest, at Ferris Hollow, is rated 200 MW and 400 MWh and entered service in August.

Together with the 900 MWh Carrow Falls pumped hydro station, which has operated since 1978, \
storage now covers a meaningful part of the evening peak. On the coldest evenings of the year, \
batteries discharged up to 640 MW at once, displacing the most expensive gas peaking plants.

The measured average round-trip efficiency of the battery fleet was 87%, compared with 76% for \
Carrow Falls. Batteries were also the main provider of fast frequency response, reacting within \
one second to the sudden loss of a large generator. On 2 May, when the Tamsholm gas unit tripped \
at full output, batteries arrested the fall in frequency before any customer lost supply.

Operating experience has been positive, with one exception: a fire suppression system fault at a \
smaller site in Vestra kept it offline for six weeks in spring. No fire occurred. We have since \
required independent inspection of suppression systems at every storage site before energisation.""",
        ),
        (
            "3. Reliability and Outages",
            """\
Reliability improved overall despite severe weather. The average customer was without power for \
74 minutes during the year (SAIDI), compared with 96 minutes in 2024, and experienced 0.9 \
interruptions (SAIFI), down from 1.2. Both figures exclude planned maintenance outages notified in \
advance.

The most serious event was the ice storm of 9 March. Freezing rain coated lines and trees with up \
to 25 mm of ice across the Kestrel Valley, bringing down 340 poles and more than 600 spans of \
conductor. In total 48,000 customers lost power. Most were restored within 12 hours, but the \
longest restoration took 31 hours, in remote upland areas where access roads were blocked by \
fallen trees. At the height of the response 1,150 line workers were deployed, including crews \
from neighbouring utilities under mutual aid agreements.

Falling trees and branches remain the largest single cause of unplanned outages, responsible for \
38% of customer minutes lost. During the year we cleared vegetation along 6,800 km of line \
corridors and replaced 2,100 wooden poles.

We installed 412 automated reclosers and sectionalising switches on rural feeders. These devices \
isolate a faulty section and restore supply to the rest of the feeder within about a minute, \
without a crew visit. Feeders fitted with the new equipment saw 31% fewer customer minutes lost \
than comparable feeders without it.""",
        ),
        (
            "4. Tariffs and Customer Bills",
            """\
The average annual bill for a residential customer on our standard plan rose 3.8% in 2025, to \
1,486 Northmere dollars. Network charges, which fund the poles, wires and substations, make up \
about 31% of that bill; the remainder covers energy purchases, retail costs and levies.

Our optional time-of-use tariff, Flex Home, completed its second year. Enrolment grew to 318,000 \
households, about 14% of residential customers. Under Flex Home, the off-peak rate is 9.1 cents \
per kWh from 23:00 to 06:00, and the peak rate is 31.4 cents per kWh from 16:00 to 20:00 on \
weekdays. All other hours are charged at a shoulder rate of 17.2 cents. The flat standard rate is \
19.8 cents per kWh.

Flex Home customers shifted on average 11% of their consumption out of the peak window, mostly \
by scheduling electric vehicle charging and water heating overnight. Households on the tariff \
with an electric vehicle saved an average of 212 dollars over the year compared with the \
standard plan. About 9% of Flex Home customers would have paid less on the flat rate; they \
receive an automatic notice each autumn.

The Northmere Energy Assistance Fund supported 22,000 low-income households with bill credits \
in 2025, and no residential customer was disconnected for non-payment between 1 November and \
31 March.""",
        ),
        (
            "5. Emissions",
            """\
The carbon intensity of electricity delivered in Northmere fell to 112 grams of CO2 per kWh in \
2025, from 141 g/kWh in 2024, a reduction of 21% in one year. Total emissions attributable to \
electricity supply in the region were 3.55 million tonnes of CO2.

The largest single contribution came from the retirement of Brenmoor Unit 2, a 480 MW coal-fired \
unit, which was permanently closed on 30 June 2025 after 44 years of service. Its sister unit had \
closed in 2023. Northmere no longer has any coal generation connected to its network, although \
coal still appears in the annual generation mix for the first half of the year.

The network's own operational emissions are much smaller but still matter. Losses on transmission \
and distribution lines, 5.9% of electricity delivered, carry the carbon intensity of the power that \
is lost. Leakage of sulphur hexafluoride (SF6), an insulating gas in high-voltage switchgear and \
a greenhouse gas about 24,000 times more potent than CO2, was 0.31% of the installed inventory. \
We will buy only SF6-free switchgear for new substations from 2026.

Our fleet of service vehicles is now 46% electric. Office and depot buildings were heated with \
heat pumps at 19 of our 27 sites by the end of the year.""",
        ),
        (
            "6. Generation Mix and Interconnection",
            """\
Renewable sources supplied 58% of the electricity consumed in Northmere in 2025: wind 34%, \
hydropower 13% and solar 11%. Natural gas supplied 29%, coal 6% (before the Brenmoor closure), and \
net imports the remaining 7%.

Wind output set a new record, but the transmission network could not always carry it from the \
coastal wind farms to the cities. During storms and on windy nights with low demand, 410 GWh of \
wind energy had to be curtailed, about 4% of potential wind output. Most curtailment occurred \
behind the congested Skarn Ridge corridor, which the new 400 kV line described in our outlook is \
designed to relieve.

Rooftop solar capacity grew to 1.4 GW across 190,000 installations. On sunny spring weekends, \
rooftop solar reduced demand seen by the transmission network to as little as 1.6 GW at midday, \
creating new challenges for voltage control.

The 1.2 GW Halvard-Brandt interconnector links Northmere with the neighbouring Brandt system. \
In 2025 Northmere imported 3.4 TWh and exported 1.2 TWh, for net imports of 2.2 TWh. Exports \
mostly occur on windy nights, imports on calm winter evenings. The interconnector was available \
97.6% of the time.""",
        ),
        (
            "7. Outlook 2026-2030",
            """\
Our investment plan for 2026 to 2030 totals 6.4 billion dollars, the largest in the Authority's \
history. We forecast that peak demand will reach 7.3 GW by 2030, driven by heating, transport and \
new industrial electrification, while annual consumption approaches 36 TWh.

Key projects in the plan:

- A new 186 km, 400 kV transmission line between Halvard and Kestrel, with an estimated cost of \
1.1 billion dollars, due for completion in 2027. It will relieve the Skarn Ridge bottleneck and \
cut wind curtailment substantially.
- A target of 4 GWh of grid-scale storage connected by 2028, including longer-duration systems \
able to discharge for eight hours or more.
- Completion of the smart meter rollout in 2026. At the end of 2025, 88% of customers had a smart \
meter.
- Undergrounding of 900 km of the most storm-exposed rural lines in the Kestrel Valley.
- A demand flexibility programme paying large customers to reduce load during the tightest hours.

These investments will add an estimated 4% to the average residential bill by 2030, before \
savings from avoided fuel costs and reduced curtailment, which we expect to offset most of that \
increase. Our full business plan is open for public consultation until 31 March 2026.""",
        ),
    ],
)

TRIAL_SUMMARY = (
    "clinical-trial-summary.pdf",
    "LUMEN-2 Phase III Trial of Veltrazine for Migraine Prevention - Summary of Results",
    "Harrowgate Therapeutics (fictional)",
    "Plain-language and technical summary of a fictional randomised controlled trial",
    [
        (
            "LUMEN-2: Study Overview",
            """\
This document summarises the results of LUMEN-2, a phase III, randomised, double-blind, \
placebo-controlled trial of veltrazine, an investigational oral medicine for the prevention of \
episodic migraine in adults. Veltrazine is a small molecule that blocks the receptor for the \
neuropeptide PACAP-38, which is released during migraine attacks. The trial was sponsored by \
Harrowgate Therapeutics. All names and data in this summary are fictional and for demonstration \
purposes only.

Design. After a 4-week baseline period in which participants recorded their headaches in an \
electronic diary, 612 participants at 48 clinical sites in 7 countries were randomly assigned in \
a 1:1 ratio to take either veltrazine 50 mg or an identical-looking placebo tablet once daily for \
24 weeks. Neither participants nor investigators knew which treatment was being taken.

Primary endpoint. The change from baseline in the mean number of monthly migraine days, measured \
over weeks 13 to 24 of treatment.

Key secondary endpoints. The proportion of participants whose monthly migraine days fell by at \
least half (the 50% responder rate); the change in days per month on which acute headache \
medicine was used; and the change in headache-related disability measured by the MIDAS \
questionnaire.

Enrolment ran from March 2023 to August 2024, and the last participant completed treatment in \
February 2025.""",
        ),
        (
            "Participants and Eligibility",
            """\
Who could take part. Adults aged 18 to 65 years with a history of episodic migraine, with or \
without aura, for at least 12 months, who had between 4 and 14 migraine days per month during \
the baseline period. Participants could continue one stable acute treatment.

Main exclusions. Chronic migraine (15 or more headache days per month); medication-overuse \
headache; uncontrolled high blood pressure; significant heart, liver or kidney disease; \
pregnancy or breastfeeding; and treatment with a CGRP monoclonal antibody within the previous \
6 months.

Baseline characteristics. Of the 612 randomised participants, 83% were women and the mean age \
was 41.3 years. At baseline participants had on average 8.6 migraine days per month and used \
acute medicine on 7.1 days per month. About 34% experienced aura, and 28% had previously tried \
at least two preventive medicines without adequate benefit. The two treatment groups were well \
balanced for all of these characteristics.

Of the participants, 79% described themselves as white, 9% as Black, 7% as Asian and 5% as \
another or multiple ethnic groups. Participants were recruited in the United States, Canada, \
Germany, Spain, Poland, Japan and Australia.

Completion. In total 575 participants (94%) completed the 24-week treatment period: 286 of 306 in \
the veltrazine group and 289 of 306 in the placebo group.""",
        ),
        (
            "Efficacy Results",
            """\
Primary endpoint. Over weeks 13 to 24, participants taking veltrazine had 4.1 fewer monthly \
migraine days than at baseline, compared with 2.3 fewer days for those taking placebo. The \
difference of 1.8 days per month in favour of veltrazine was statistically significant (95% \
confidence interval 1.1 to 2.5 days; p < 0.001).

Responders. 47% of participants in the veltrazine group halved their number of monthly migraine \
days, compared with 26% in the placebo group. A 75% reduction was achieved by 19% and 8% \
respectively.

Acute medicine. Days per month using acute headache medicine fell by 3.4 with veltrazine and \
1.6 with placebo.

Speed of effect. The separation from placebo was already statistically significant in week 2 of \
treatment, and the benefit was maintained through week 24.

Disability. The MIDAS disability score fell by a mean of 14.6 points with veltrazine and 8.9 \
points with placebo.

Subgroups. The effect was similar in participants with and without aura and across age groups. \
In participants who had previously failed two or more preventive medicines, the difference from \
placebo was smaller (1.2 days per month) but still favoured veltrazine.

What this means. On average, a person with about 8 to 9 migraine days a month could expect \
roughly two fewer migraine days a month on veltrazine than on placebo, and nearly half of people \
taking it saw their migraine days at least halved.""",
        ),
        (
            "Safety and Tolerability",
            """\
Overall. Adverse events of any kind were reported by 58% of participants taking veltrazine and \
49% of those taking placebo. Most were mild or moderate and occurred in the first four weeks.

Most common adverse events (veltrazine versus placebo): nausea 9% versus 3%; dizziness 6% versus \
2%; fatigue 5% versus 4%; constipation 4% versus 2%. Nausea usually resolved within two weeks \
without stopping treatment.

Stopping treatment because of side effects. Discontinuation due to adverse events occurred in \
4.2% of participants in the veltrazine group (13 people) and 2.8% in the placebo group (9 people); \
these participants withdrew from the study early. Nausea and dizziness were the most common reasons.

Serious adverse events occurred in 1.0% of the veltrazine group and 1.3% of the placebo group. \
None was judged related to the study medicine except one case of raised liver enzymes (ALT more \
than three times the upper limit of normal) at week 8, without jaundice, which returned to normal \
within four weeks of stopping veltrazine. Liver tests will be monitored in the extension study.

No effects on blood pressure, heart rate or the electrocardiogram were seen, and there were no \
deaths. Body weight was unchanged on average. No participant became pregnant during treatment.""",
        ),
        (
            "Conclusions and Next Steps",
            """\
LUMEN-2 met its primary endpoint and all key secondary endpoints. In adults with episodic \
migraine, veltrazine 50 mg taken once daily reduced monthly migraine days more than placebo over \
24 weeks, with an onset of benefit within two weeks and an acceptable safety profile.

Limitations. The trial did not include people with chronic migraine, children or adults over \
65, and most participants were white women, so results may not apply equally to everyone. A \
24-week trial cannot show whether benefits persist over years, and veltrazine was not compared \
directly with existing preventive treatments.

Open-label extension. Of the 575 participants who completed treatment, 541 chose to continue in \
a 52-week open-label extension, in which everyone receives veltrazine. Results are expected in \
2026.

Further studies. A trial in chronic migraine (LUMEN-3) began enrolment in 2025, and a study in \
adolescents aged 12 to 17 is planned. The sponsor intends to apply for marketing approval in 2026.

For participants. Thank you to everyone who took part. If you were in the study and have \
questions about your own results, please contact the research team at your study site. This \
summary does not replace advice from your own doctor.""",
        ),
    ],
)

MUSHROOM_GUIDE = (
    "field-guide-mushrooms.pdf",
    "Field Guide to Woodland Mushrooms: Edible Species and Dangerous Look-alikes",
    "Northmere Mycological Society (fictional)",
    "Beginner's field guide to common woodland mushrooms and their poisonous look-alikes",
    [
        (
            "Before You Pick: Safety Rules",
            """\
Foraging for wild mushrooms is rewarding, but mistakes can be fatal. This guide introduces a few \
common woodland species and, above all, the dangerous mushrooms they can be confused with. It is \
not enough on its own: learn each species in the field with an experienced forager before eating \
it.

The golden rules

1. Never eat a mushroom unless you are 100% certain of its identity. "Probably" is not good enough.
2. Learn the poisonous look-alikes of every species you collect, not just the edible one.
3. Collect the whole mushroom, including the base of the stem, which may be buried in soil.
4. Keep each species in a separate bag or basket compartment, so one deadly specimen cannot \
contaminate the rest.
5. When trying a new edible species, eat a small cooked portion and keep one uncooked specimen in \
the refrigerator in case identification is needed later.
6. Do not rely on folk tests. Silver spoons, peeling caps and animals nibbling a mushroom say \
nothing about whether it is safe for humans.

Parts of a mushroom

Most mushrooms have a cap; a fertile surface beneath it made of gills, pores, ridges or teeth; \
and a stem (stipe). Some have a ring (annulus), the remains of a veil that protected young gills, \
and some have a volva, a cup or sac at the very base of the stem. The colour of the spores, \
revealed by a spore print, is one of the most important identification features.""",
        ),
        (
            "Chanterelles and Their Look-alikes",
            """\
The golden chanterelle (Cantharellus species) is one of the most prized edible mushrooms. It is \
egg-yolk yellow to orange, often with a wavy, funnel-shaped cap, and it grows from the soil near \
oaks, beeches, birches or conifers in summer and autumn, singly or scattered, never in dense \
clumps on wood. Its most important feature is its false gills: blunt, shallow, forked ridges that \
run down the stem and look as if they were melted onto it, rather than sharp, blade-like gills. \
Torn open, the flesh is solid and white, like string cheese, and many people notice a faint smell \
of apricots.

False chanterelle (Hygrophoropsis aurantiaca). More orange, with true, thin, crowded gills that \
fork repeatedly; it often grows on rotting conifer wood or woodchips. It is not dangerous to most \
people but can cause stomach upset.

Jack-o'-lantern (Omphalotus species). The dangerous look-alike. It is bright orange, grows in large \
dense clusters from wood or buried roots, and has true, sharp gills. It causes severe vomiting \
and diarrhoea within a few hours of eating. Its gills can glow faintly green in complete darkness, \
a property called bioluminescence.

Quick checklist for a chanterelle: ridges not gills; growing from soil, not wood; solid white \
flesh inside; not in a tight cluster.""",
        ),
        (
            "Deadly Amanitas: Death Cap and Destroying Angel",
            """\
The death cap (Amanita phalloides) causes the great majority of fatal mushroom poisonings \
worldwide. Its cap is greenish-olive to yellowish, sometimes almost white, smooth and often \
slightly shiny, 5 to 15 cm across. It has free white gills, a white skirt-like ring on the stem \
and, at the base, a white sac-like volva that is often hidden underground. Always dig up the \
entire base of any mushroom with white gills. The destroying angels (Amanita virosa and relatives) \
are pure white and equally deadly.

The toxins. Death caps contain amatoxins, chiefly alpha-amanitin, which block an enzyme (RNA \
polymerase II) that cells need to make proteins. Liver cells are damaged first. Amatoxins are \
not destroyed by cooking, boiling, drying or freezing, so no method of preparation can make a \
death cap safe to eat. As little as half a cap can kill an adult. Survivors describe the taste \
as pleasant, which gives no warning.

A treacherous delay. Symptoms do not begin until 6 to 24 hours after the meal, usually around 10 \
to 12 hours, long after the toxin has been absorbed. Violent vomiting and watery diarrhoea \
follow, then an apparent recovery for one or two days while liver damage continues silently, \
and finally liver and kidney failure.

If poisoning is suspected. Seek emergency care immediately, even before any symptoms appear, and \
bring any leftover mushrooms. Treatment includes fluids, activated charcoal, intravenous \
silibinin (from milk thistle) and, in severe cases, liver transplantation.""",
        ),
        (
            "Boletes: Mushrooms with Pores",
            """\
Boletes are fleshy mushrooms that have a sponge-like layer of pores under the cap instead of \
gills. They are a good group for beginners because few boletes are dangerous, although some are \
unpleasantly bitter and a few cause stomach upset.

Porcini or king bolete (Boletus edulis). A fat brown cap like a bread bun, 8 to 25 cm across, \
on a thick, pale, often club-shaped stem covered in a fine, raised white net pattern \
(reticulation), especially near the top. The pores are white when young and age to yellow and \
then olive-green; they do not turn blue when bruised. The flesh is white and firm with a nutty \
smell. It grows on the ground under spruce, pine, oak and birch from late summer into autumn.

Bitter bolete (Tylopilus felleus). Similar in shape but with pinkish pores and a dark net on the \
stem. It is not poisonous, but a single specimen can make a whole dish inedibly bitter. Touch a \
tiny piece of the cap to the tip of your tongue and spit it out: the bitterness is unmistakable.

Slippery jacks (Suillus species) grow with pines and have slimy caps; peel the cap skin before \
cooking.

Beginner's rule for boletes: avoid any bolete with red or orange pores, and be cautious with \
species whose flesh turns blue instantly when cut, until you can identify them with confidence. \
Many blue-staining boletes are edible, but the rule keeps the few toxic ones off your plate.""",
        ),
        (
            "Morels and False Morels",
            """\
True morels (Morchella species) appear in spring, typically when the soil has warmed to about \
10 °C, often around the time that oak leaves are the size of a squirrel's ear. They favour old \
orchards, ash and elm woodland, disturbed ground and, in the first year after a forest fire, \
burned areas. The cap is covered in a honeycomb of pits and ridges and is attached directly to \
the stem at its lower edge.

The key test: slice the mushroom lengthwise from top to bottom. A true morel is completely hollow, \
a single continuous chamber from the tip of the cap to the base of the stem.

False morels (Gyromitra species, especially Gyromitra esculenta) have a cap that is wrinkled and \
lobed like a brain rather than pitted, often reddish-brown, and it hangs loosely around the stem. \
Cut open, the inside is not hollow but filled with cottony fibres or divided into several chambers. \
False morels contain gyromitrin, which the body converts into monomethylhydrazine, a compound \
also used as rocket fuel. Poisoning causes vomiting, seizures and liver damage, and deaths have \
occurred. Cooking releases toxic vapours, so even preparing them is risky.

Half-free morels (Morchella punctipes) have a cap attached halfway up the stem but are still hollow \
inside; they are edible but easily confused with other species.

All true morels must be thoroughly cooked before eating.""",
        ),
        (
            "Spore Prints and Preserving Your Finds",
            """\
Making a spore print. Cut the stem off a mature cap and place the cap gill-side down on a sheet of \
paper that is half white and half black, so that both pale and dark spores show up. Cover it with a \
glass or bowl to stop drafts, and leave it for 4 to 12 hours. Lift the cap carefully and note the \
colour of the deposit.

Spore colour narrows identification considerably:
- White: Amanita species, including the death cap, and many others.
- Pink to salmon: Entoloma and Pluteus, among others.
- Brown to rusty brown: Cortinarius, Agrocybe and others.
- Purple-brown to black: Agaricus, Psathyrella, inky caps.
- Olive-brown: many boletes.

A white print from a gilled mushroom with a ring or volva is a strong reason to put it aside.

Keeping records. Note the date, place, habitat, trees nearby and smell, and photograph the top, \
the underside and the whole stem including the base before you pick.

Drying. Slice mushrooms about 5 mm thick and dry them in a dehydrator or an oven with the door \
slightly open at 45 to 50 °C until they are cracker-dry and snap cleanly, usually 6 to 10 hours. \
Store them in airtight jars away from light; they keep for a year or more.

Freezing. Most species freeze well after being sautéed in butter or oil; raw mushrooms turn \
watery when thawed. Chanterelles become bitter if frozen raw.

Transport. Carry finds in a basket or paper bags, never plastic, and refrigerate them as soon as \
you get home.""",
        ),
    ],
)

DOCUMENTS = (GRID_REPORT, TRIAL_SUMMARY, MUSHROOM_GUIDE)

#: Facts that must be extractable from exactly one page of their PDF (1-based page numbers); checked
#: with pypdf after writing. data/sample_queries.json cites some of these pages.
KEY_FACTS: dict[str, dict[int, list[str]]] = {
    "annual-grid-report-2025.pdf": {
        2: ["peak demand of 6.42 GW", "31.7 TWh", "58,000 new domestic heat pumps"],
        3: ["battery storage capacity reached 1.8 GWh in the third quarter", "round-trip efficiency"],
        4: ["ice storm of 9 March", "48,000 customers lost power", "31 hours", "(SAIDI)"],
        5: ["off-peak rate is 9.1 cents", "31.4 cents per kWh from 16:00 to 20:00", "rose 3.8%"],
        6: ["112 grams of CO2 per kWh", "Brenmoor Unit 2"],
        7: ["410 GWh of wind energy had to be curtailed", "Renewable sources supplied 58%"],
        8: ["4 GWh of grid-scale storage connected by 2028", "7.3 GW by 2030"],
    },
    "clinical-trial-summary.pdf": {
        1: ["612 participants at 48 clinical sites"],
        2: ["83% were women", "mean age was 41.3 years"],
        3: ["4.1 fewer monthly migraine days", "47% of participants"],
        4: ["Discontinuation due to adverse events", "4.2% of participants"],
        5: ["52-week open-label extension", "LUMEN-3"],
    },
    "field-guide-mushrooms.pdf": {
        2: ["false gills", "Omphalotus"],
        3: ["not destroyed by cooking", "6 to 24 hours after the meal"],
        4: ["Boletus edulis", "Tylopilus felleus"],
        5: ["completely hollow", "monomethylhydrazine"],
        6: ["45 to 50 °C", "half white and half black"],
    },
}


class _Report(FPDF):
    """A4 portrait, Helvetica only, no header/footer text (so pages carry only their own content)."""


def build_pdf(title: str, author: str, subject: str, pages: list[tuple[str, str]]) -> bytes:
    pdf = _Report(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_subject(subject)
    pdf.set_creator("data/make_sample_pdfs.py")
    pdf.set_producer("fpdf2")
    pdf.set_margins(20, 20, 20)
    # Never break automatically: each content page must stay one physical page (checked below).
    pdf.set_auto_page_break(False)
    for number, (heading, body) in enumerate(pages, start=1):
        for text in (heading, body):
            text.encode("latin-1")  # core fonts only encode latin-1; fail loudly otherwise
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 15)
        pdf.multi_cell(0, 8, heading)
        pdf.ln(3)
        pdf.set_font("Helvetica", "", 10.5)
        pdf.multi_cell(0, 5.2, body)
        if pdf.get_y() > pdf.h - 15:
            raise ValueError(f"{title}: page {number} ({heading!r}) overflows the page")
        if pdf.page_no() != number:
            raise ValueError(f"{title}: content page {number} landed on PDF page {pdf.page_no()}")
    return bytes(pdf.output())


def check_pdf(path: Path, headings: list[str], facts: dict[int, list[str]]) -> None:
    """Re-read a written PDF with pypdf: one page per heading, each page starting with its heading, and
    every key fact found on its own page and on no other."""
    from pypdf import PdfReader

    pages = [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]
    if len(pages) != len(headings):
        raise AssertionError(f"{path}: {len(pages)} pages, expected {len(headings)}")
    for number, (text, heading) in enumerate(zip(pages, headings, strict=True), start=1):
        if not text.startswith(" ".join(heading.split())):
            raise AssertionError(f"{path}: page {number} does not start with {heading!r}")
    for number, wanted in facts.items():
        for fact in wanted:
            found = [n for n, text in enumerate(pages, start=1) if fact in text]
            if found != [number]:
                raise AssertionError(f"{path}: {fact!r} expected on page {number} only, found on {found}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("data/sample/reports"), help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for file_name, title, author, subject, pages in DOCUMENTS:
        path = args.out / file_name
        path.write_bytes(build_pdf(title, author, subject, pages))
        check_pdf(path, [heading for heading, _ in pages], KEY_FACTS.get(file_name, {}))
        print(f"wrote {path} ({len(pages)} pages, {path.stat().st_size:,} bytes; page text checked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
