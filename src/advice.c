/*
 * advice.c - the advice-in-disguise detector: one table of cues, a
 * normaliser and a matcher. See advice.h for the contract.
 *
 * Invariants:
 *   - The cue table is sorted by its first word (test_advice checks it), so
 *     that the cues that may start at a word are found by binary search.
 *     A first word is never a wildcard.
 *   - Patterns are written in the normalised vocabulary: lower case ASCII,
 *     no accents, elisions spelled out (n' -> ne, qu' -> que, t' -> tu),
 *     every second-person pronoun as "tu" (vous, te, toi), vous-verbs as
 *     tu-verbs (avez -> as), "est-ce que" at the start of a question as
 *     "estceque", "qu'est-ce que/qui" as "qestceque"/"qestcequi", English
 *     contractions split (don't -> don t).
 *   - Pattern words: a plain word matches exactly; "abc*" matches a word
 *     starting with abc; "*ing" a word ending with ing; "_" any one word;
 *     "~" zero to six words; "!a|b" one word that is neither a nor b (or
 *     the sentence's end); "$" the sentence's end; "@fr", "@en", "@enb" an
 *     action verb of the lists below. A leading "^" anchors the cue at the start of
 *     a sentence, after at most three filler words ("alors", "so", ...).
 *   - No allocation, no state: everything lives in the caller's stack frame
 *     (about 15 KB).
 * Expected load: one check per keystroke pause of a consultant typing a
 * question, at most a few hundred per second server-wide.
 *
 * Why one file of 1,200 lines: about 740 of them are data (the cue table,
 * about 460 rows, and the word lists: fillers, tu-forms, action verbs and
 * imperatives); the code is a 450-line normaliser and matcher that reads
 * only these tables. Moving the tables to a second file would put the
 * vocabulary the patterns are written in (above) in one file and the
 * patterns in another, and make the static tables extern for no second
 * reader. It splits when a second detector or language needs the matcher
 * without these cues.
 */
#include "advice.h"

#include <stdint.h>
#include <string.h>

#define ADVICE_MAX_WORDS 1024
#define ADVICE_GAP_MAX   6 /* words a "~" may skip */
#define ADVICE_FILLERS   3 /* filler words an anchored cue may follow */

struct advice_cue {
    const char *pattern;   /* normalised words; "^" first anchors */
    const char *label;     /* what the page shows */
    enum advice_lang lang; /* FR or EN */
    const char *not_after; /* space-separated words that may not precede it */
};

#define FR ADVICE_LANG_FR
#define EN ADVICE_LANG_EN
/* The word a cue is filed under is its first after an optional "^". */
/* clang-format off */
static const struct advice_cue advice_cues[] = {
    {"^@impen", "(imperative)", EN, NULL},
    {"^@impfr", "(impératif)", FR, NULL},
    {"^a _ maybe $", "a …, maybe?", EN, NULL},
    {"a ta place", "à ta place…", FR, NULL},
    {"a tu essay*", "as-tu essayé…", FR, "que quoi qestceque"},
    {"a tu pense a", "as-tu pensé à…", FR, "que quoi"},
    {"a votre place", "à votre place…", FR, NULL},
    {"^a ~ maybe", "a …, maybe?", EN, NULL},
    {"^a ~ perhaps", "a …, perhaps?", EN, NULL},
    {"^accepte", "accepte…", FR, NULL},
    {"accepterais tu de", "accepterais-tu de…", FR, NULL},
    {"^an _ maybe $", "an …, maybe?", EN, NULL},
    {"^an ~ maybe", "an …, maybe?", EN, NULL},
    {"^an ~ perhaps", "an …, perhaps?", EN, NULL},
    {"^any chance", "any chance…", EN, NULL},
    {"any reason not to", "any reason not to…", EN, NULL},
    {"^any reason you", "any reason you…", EN, NULL},
    {"any reason you haven t", "any reason you haven’t…", EN, NULL},
    {"^appelle", "appelle…", FR, NULL},
    {"are you finally going", "are you finally going to…", EN, NULL},
    {"^arrete", "arrête…", FR, NULL},
    {"as tu @fr", "as-tu … (une action précise) ?", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"as tu considere", "as-tu considéré…", FR, "que quoi qestceque"},
    {"as tu deja @fr", "as-tu déjà … ?", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"as tu deja envisage", "as-tu déjà envisagé…", FR, "que quoi"},
    {"as tu deja essaye", "as-tu déjà essayé…", FR, "que quoi qestceque"},
    {"as tu deja pense a", "as-tu déjà pensé à…", FR, "que quoi"},
    {"as tu envisage", "as-tu envisagé…", FR, "que quoi qestceque"},
    {"as tu essay*", "as-tu essayé…", FR, "que quoi qestceque"},
    {"as tu eu le occasion", "as-tu eu l’occasion de…", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"as tu interet", "as-tu intérêt…", FR, NULL},
    {"as tu pas pense", "as-tu pas pensé…", FR, NULL},
    {"as tu pense a", "as-tu pensé à…", FR, "que quoi"},
    {"as tu pense au", "as-tu pensé à…", FR, "que quoi"},
    {"as tu pense aux", "as-tu pensé à…", FR, "que quoi"},
    {"as tu songe", "as-tu songé à…", FR, "que quoi"},
    {"as tu tente", "as-tu tenté…", FR, "que quoi qestceque"},
    {"as tu vu avec", "as-tu vu avec…", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"as tu ~ fait appel", "as-tu fait appel…", FR, NULL},
    {"^ask", "ask…", EN, NULL},
    {"aurais tu ~ interet", "aurais-tu intérêt…", FR, NULL},
    {"aurait il pas interet", "n’y aurait-il pas intérêt…", FR, NULL},
    {"aurait moyen", "y aurait-il moyen…", FR, NULL},
    {"be an option", "would … be an option?", EN, "what which"},
    {"be the answer", "be the answer…", EN, NULL},
    {"be the solution", "be the solution…", EN, NULL},
    {"^book", "book…", EN, NULL},
    {"ca *rait pas", "ça …rait pas ?", FR, NULL},
    {"^ca pourrait", "ça pourrait…", FR, NULL},
    {"ca pourrait pas", "ça pourrait pas…", FR, NULL},
    {"ca tu *rait", "ça te …rait", FR, NULL},
    {"ca tu aiderait", "ça t’aiderait…", FR, NULL},
    {"ca tu parle", "ça te parle ?", FR, NULL},
    {"ca vaudrait", "ça vaudrait…", FR, NULL},
    {"^call", "call…", EN, NULL},
    {"can t you", "can’t you…", EN, NULL},
    {"can t you just", "can’t you just…", EN, NULL},
    {"can you not just", "can you not just…", EN, NULL},
    {"can you try", "can you try…", EN, NULL},
    {"ce ne serait pas", "ce ne serait pas…", FR, NULL},
    {"ce serait bien", "ce serait bien de…", FR, NULL},
    {"ce serait mieux", "ce serait mieux…", FR, NULL},
    {"ce serait pas", "ce serait pas…", FR, NULL},
    {"ce serait peut etre", "ce serait peut-être…", FR, NULL},
    {"ce serait une bonne idee", "ce serait une bonne idée…", FR, NULL},
    {"ce serait une piste", "ce serait une piste…", FR, NULL},
    {"ce serait utile", "ce serait utile…", FR, NULL},
    {"^cela pourrait", "cela pourrait…", FR, NULL},
    {"^change", "change…", FR, NULL},
    {"^consider", "consider…", EN, NULL},
    {"^could a", "could a…", EN, NULL},
    {"^could an", "could an…", EN, NULL},
    {"could help", "could help…", EN, "what which who"},
    {"could it be worth", "could it be worth…", EN, NULL},
    {"could it help", "could it help…", EN, NULL},
    {"^could the", "could the…", EN, NULL},
    {"could you @enb", "could you … ?", EN, NULL},
    {"could you ask", "could you ask…", EN, NULL},
    {"could you consider", "could you consider…", EN, NULL},
    {"could you delegate", "could you delegate…", EN, NULL},
    {"could you just", "could you just…", EN, NULL},
    {"could you maybe", "could you maybe…", EN, NULL},
    {"could you not", "could you not…", EN, NULL},
    {"could you perhaps", "could you perhaps…", EN, NULL},
    {"could you speak", "could you speak…", EN, NULL},
    {"could you talk", "could you talk…", EN, NULL},
    {"could you try", "could you try…", EN, NULL},
    {"could ~ maybe", "could … maybe…", EN, NULL},
    {"^couldn t", "couldn’t…", EN, NULL},
    {"couldn t you", "couldn’t you…", EN, NULL},
    {"^couldnt", "couldn’t…", EN, NULL},
    {"^delegate", "delegate…", EN, NULL},
    {"^delegue", "délègue…", FR, NULL},
    {"^demande a", "demande à…", FR, NULL},
    {"^demande leur", "demande-leur…", FR, NULL},
    {"^demande lui", "demande-lui…", FR, NULL},
    {"devrais tu", "devrais-tu…", FR, NULL},
    {"^did it occur to you", "did it occur to you…", EN, NULL},
    {"^did you @enb", "did you … (one specific action)?", EN, NULL},
    {"^did you ask", "did you ask…", EN, NULL},
    {"^did you consider", "did you consider…", EN, NULL},
    {"^did you ever @enb", "did you ever …?", EN, NULL},
    {"^did you ever think", "did you ever think…", EN, NULL},
    {"^did you talk to", "did you talk to…", EN, NULL},
    {"^did you think about", "did you think about…", EN, NULL},
    {"^did you think of", "did you think of…", EN, NULL},
    {"^did you try", "did you try…", EN, NULL},
    {"dirais tu de", "que dirais-tu de…", FR, NULL},
    {"^dis leur", "dis-leur…", FR, NULL},
    {"^dis lui", "dis-lui…", FR, NULL},
    {"^do not", "do not…", EN, NULL},
    {"do you think *ing", "do you think …ing…", EN, NULL},
    {"^document", "document…", EN, NULL},
    {"^don t", "don’t…", EN, NULL},
    {"^ecris", "écris…", FR, NULL},
    {"^envisage", "envisage…", FR, NULL},
    {"envisagerais tu", "envisagerais-tu…", FR, NULL},
    {"envisages tu", "envisages-tu…", FR, NULL},
    {"es tu @fr", "t’es-tu … ?", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"^escalate", "escalate…", EN, NULL},
    {"^essaie", "essaie…", FR, NULL},
    {"^essaye", "essaye…", FR, NULL},
    {"est ce envisageable", "est-ce envisageable…", FR, NULL},
    {"est il pas temps", "n’est-il pas temps…", FR, NULL},
    {"est sur la table", "c’est sur la table ?", FR, NULL},
    {"^estceque tu as envisage", "est-ce que tu as envisagé…", FR, NULL},
    {"^estceque tu as essaye", "est-ce que tu as essayé…", FR, NULL},
    {"^estceque tu as pense a", "est-ce que tu as pensé à…", FR, NULL},
    {"^estceque tu as pense au", "est-ce que tu as pensé à…", FR, NULL},
    {"^estceque tu as pense aux", "est-ce que tu as pensé à…", FR, NULL},
    {"^estceque tu as songe", "est-ce que tu as songé à…", FR, NULL},
    {"^estceque tu as tente", "est-ce que tu as tenté…", FR, NULL},
    {"^estceque tu peux", "est-ce que tu peux…", FR, NULL},
    {"^estceque tu pourrais", "est-ce que tu pourrais…", FR, NULL},
    {"et si on", "et si on…", FR, NULL},
    {"et si tu", "et si tu…", FR, NULL},
    {"^et un", "et un … ?", FR, NULL},
    {"^et une", "et une … ?", FR, NULL},
    {"^ever @en", "ever …?", EN, NULL},
    {"^evite", "évite…", FR, NULL},
    {"^fais", "fais…", FR, NULL},
    {"faudrait pas", "faudrait pas…", FR, NULL},
    {"faudrait que tu", "faudrait que tu…", FR, NULL},
    {"^find", "find…", EN, NULL},
    {"^focus on", "focus on…", EN, NULL},
    {"^garde", "garde…", FR, NULL},
    {"^get", "get…", EN, NULL},
    {"^give", "give…", EN, NULL},
    {"^go", "go…", EN, NULL},
    {"happen if you", "what would happen if you…", EN, NULL},
    {"^has it occurred to you", "has it occurred to you…", EN, NULL},
    {"^have you @en", "have you … (one specific action)?", EN, NULL},
    {"^have you already @en", "have you already …?", EN, NULL},
    {"^have you considered", "have you considered…", EN, NULL},
    {"^have you ever @en", "have you ever …?", EN, NULL},
    {"^have you ever considered", "have you ever considered…", EN, NULL},
    {"^have you ever thought", "have you ever thought…", EN, NULL},
    {"^have you ever tried", "have you ever tried…", EN, NULL},
    {"^have you explored", "have you explored…", EN, NULL},
    {"^have you had a word", "have you had a word…", EN, NULL},
    {"^have you looked at", "have you looked at…", EN, NULL},
    {"^have you looked into", "have you looked into…", EN, NULL},
    {"^have you spoken to", "have you spoken to…", EN, NULL},
    {"^have you talked to !anyone|anybody|someone|somebody", "have you talked to…", EN, NULL},
    {"^have you thought about", "have you thought about…", EN, NULL},
    {"^have you thought of", "have you thought of…", EN, NULL},
    {"^have you tried", "have you tried…", EN, NULL},
    {"^hire", "hire…", EN, NULL},
    {"how about", "how about…", EN, NULL},
    {"i d recommend", "I’d recommend…", EN, NULL},
    {"i d suggest", "I’d suggest…", EN, NULL},
    {"i recommend", "I recommend…", EN, NULL},
    {"i suggest", "I suggest…", EN, NULL},
    {"i wonder if a", "I wonder if a…", EN, NULL},
    {"i wonder if an", "I wonder if an…", EN, NULL},
    {"i would", "I would…", EN, NULL},
    {"if i were you", "if I were you…", EN, NULL},
    {"il est temps de", "il est temps de…", FR, NULL},
    {"il faudrait", "il faudrait…", FR, NULL},
    {"il faut que tu", "il faut que tu…", FR, NULL},
    {"il me semble que", "il me semble que…", FR, NULL},
    {"il serait bon", "il serait bon de…", FR, NULL},
    {"il serait utile", "il serait utile de…", FR, NULL},
    {"il suffirait", "il suffirait de…", FR, NULL},
    {"il vaudrait mieux", "il vaudrait mieux…", FR, NULL},
    {"in your place", "in your place…", EN, NULL},
    {"in your shoes", "in your shoes…", EN, NULL},
    {"^is it time to", "is it time to…", EN, NULL},
    {"is it worth", "is it worth…", EN, NULL},
    {"^is there a reason you", "is there a reason you…", EN, NULL},
    {"is there a reason you haven t", "is there a reason you haven’t…", EN, NULL},
    {"^is there any reason you", "is there any reason you…", EN, NULL},
    {"is there room to", "is there room to…", EN, NULL},
    {"is there scope", "is there scope to…", EN, NULL},
    {"^is ~ an option", "is … an option?", EN, NULL},
    {"^is ~ on the table", "is … on the table?", EN, NULL},
    {"^isn t", "isn’t…", EN, NULL},
    {"^isn t it time", "isn’t it time…", EN, NULL},
    {"isn t it time", "isn’t it time…", EN, NULL},
    {"it could be worth", "it could be worth…", EN, NULL},
    {"it is worth", "it is worth…", EN, NULL},
    {"it may help", "it may help…", EN, NULL},
    {"it might be", "it might be…", EN, NULL},
    {"it might be worth", "it might be worth…", EN, NULL},
    {"it might help", "it might help…", EN, NULL},
    {"it s worth", "it’s worth…", EN, NULL},
    {"it would be good", "it would be good to…", EN, NULL},
    {"it would be worth", "it would be worth…", EN, NULL},
    {"it would help", "it would help…", EN, NULL},
    {"je ferais", "je ferais…", FR, NULL},
    {"je me demande si un", "je me demande si un…", FR, NULL},
    {"je me demande si une", "je me demande si une…", FR, NULL},
    {"je propose", "je propose…", FR, NULL},
    {"je proposerais", "je proposerais…", FR, NULL},
    {"je suggere", "je suggère…", FR, NULL},
    {"je tu conseille", "je te conseille…", FR, NULL},
    {"je tu conseillerais", "je te conseillerais…", FR, NULL},
    {"je tu propose", "je te propose…", FR, NULL},
    {"je tu recommande", "je te recommande…", FR, NULL},
    {"je tu suggere", "je te suggère…", FR, NULL},
    {"^just", "just…", EN, NULL},
    {"^keep", "keep…", EN, NULL},
    {"keeping you from !moving|going|sleeping|progressing", "what’s keeping you from…", EN, NULL},
    {"^laisse", "laisse…", FR, NULL},
    {"^let", "let…", EN, NULL},
    {"^make sure", "make sure…", EN, NULL},
    {"^maybe @enb", "maybe …", EN, NULL},
    {"^maybe a", "maybe a…", EN, NULL},
    {"^maybe an", "maybe an…", EN, NULL},
    {"maybe you could", "maybe you could…", EN, NULL},
    {"maybe you should", "maybe you should…", EN, NULL},
    {"^meet", "meet…", EN, NULL},
    {"^mets", "mets…", FR, NULL},
    {"might be worth", "might be worth…", EN, NULL},
    {"might help", "might help…", EN, "what which who"},
    {"might it be", "might it be…", EN, NULL},
    {"might it be worth", "might it be worth…", EN, NULL},
    {"might it help", "might it help…", EN, NULL},
    {"moi je *rais", "moi, je …rais", FR, NULL},
    {"mon conseil", "mon conseil…", FR, NULL},
    {"my advice", "my advice…", EN, NULL},
    {"my suggestion", "my suggestion…", EN, NULL},
    {"ne *rais ~ pas", "ne …rais-tu pas ?", FR, "qui quoi"},
    {"ne *rait ~ pas", "ne …rait pas ?", FR, "qui quoi"},
    {"ne as tu jamais @fr", "n’as-tu jamais … ?", FR, NULL},
    {"ne as tu pas @fr", "n’as-tu pas … ?", FR, NULL},
    {"ne as tu pas interet", "n’as-tu pas intérêt…", FR, NULL},
    {"ne aurais tu pas interet", "n’aurais-tu pas intérêt…", FR, NULL},
    {"ne crois tu pas que", "ne crois-tu pas que…", FR, NULL},
    {"ne devrais tu", "ne devrais-tu pas…", FR, NULL},
    {"^ne hesite pas", "n’hésite pas…", FR, NULL},
    {"^ne oublie pas", "n’oublie pas…", FR, NULL},
    {"ne penses tu pas que", "ne penses-tu pas que…", FR, NULL},
    {"ne peux tu pas", "ne peux-tu pas…", FR, NULL},
    {"ne pourrais tu", "ne pourrais-tu pas…", FR, NULL},
    {"ne pourrait on pas", "ne pourrait-on pas…", FR, NULL},
    {"ne serait ce pas", "ne serait-ce pas…", FR, NULL},
    {"ne serait il pas", "ne serait-il pas…", FR, NULL},
    {"ne tu *rait", "ne te …rait pas ?", FR, NULL},
    {"ne tu aiderait", "ne t’aiderait-il pas…", FR, NULL},
    {"ne tu ferait", "ne te ferait-il pas…", FR, NULL},
    {"ne tu permettrait", "ne te permettrait-il pas…", FR, NULL},
    {"ne tu serait", "ne te serait-il pas…", FR, NULL},
    {"ne tu soulagerait", "ne te soulagerait-il pas…", FR, NULL},
    {"ne vaudrait il pas", "ne vaudrait-il pas…", FR, NULL},
    {"ne vaut il pas mieux", "ne vaut-il pas mieux…", FR, NULL},
    {"ne veux tu pas", "ne veux-tu pas…", FR, NULL},
    {"ne y aurait il pas moyen", "n’y aurait-il pas moyen…", FR, NULL},
    {"on ne pourrait pas", "on ne pourrait pas…", FR, NULL},
    {"^organise", "organise…", FR, NULL},
    {"^organize", "organize…", EN, NULL},
    {"^ose", "ose…", FR, NULL},
    {"^parle en", "parles-en…", FR, NULL},
    {"^parle leur", "parle-leur…", FR, NULL},
    {"^parle lui", "parle-lui…", FR, NULL},
    {"^parles en", "parles-en…", FR, NULL},
    {"pas envie de", "tu n’as pas envie de…", FR, NULL},
    {"pas le moment de", "c’est pas le moment de…", FR, NULL},
    {"pas mieux de", "pas mieux de…", FR, NULL},
    {"pas plus simple de", "pas plus simple de…", FR, NULL},
    {"passerait il si tu", "que se passerait-il si tu…", FR, NULL},
    {"^pense a", "pense à…", FR, NULL},
    {"^perhaps a", "perhaps a…", EN, NULL},
    {"perhaps you could", "perhaps you could…", EN, NULL},
    {"peut etre que tu pourrais", "peut-être que tu pourrais…", FR, NULL},
    {"peut etre que un", "peut-être qu’un…", FR, NULL},
    {"peut etre que une", "peut-être qu’une…", FR, NULL},
    {"pis si tu", "pis si tu…", FR, NULL},
    {"^pose", "pose…", FR, NULL},
    {"pourquoi est ce que tu ne", "pourquoi est-ce que tu ne…", FR, NULL},
    {"pourquoi ne ~ pas", "pourquoi ne… pas", FR, NULL},
    {"pourquoi pas", "pourquoi pas…", FR, NULL},
    {"pourquoi tu ~ pas", "pourquoi tu… pas", FR, NULL},
    {"pourrais tu deleguer", "pourrais-tu déléguer…", FR, NULL},
    {"pourrais tu demander", "pourrais-tu demander…", FR, NULL},
    {"pourrais tu en parler", "pourrais-tu en parler…", FR, NULL},
    {"pourrais tu envisager", "pourrais-tu envisager…", FR, NULL},
    {"pourrais tu essayer", "pourrais-tu essayer…", FR, NULL},
    {"pourrais tu lui", "pourrais-tu lui…", FR, NULL},
    {"pourrais tu pas", "pourrais-tu pas…", FR, NULL},
    {"pourrais tu proposer", "pourrais-tu proposer…", FR, NULL},
    {"pourrais tu simplement", "pourrais-tu simplement…", FR, NULL},
    {"pourrais tu tenter", "pourrais-tu tenter…", FR, NULL},
    {"pourrait aider", "pourrait aider…", FR, "qui quoi"},
    {"pourrait etre envisage", "pourrait être envisagé…", FR, NULL},
    {"pourrait valoir", "pourrait valoir la peine…", FR, NULL},
    {"^prends", "prends…", FR, NULL},
    {"^propose", "propose…", FR, NULL},
    {"puis si tu", "puis si tu…", FR, NULL},
    {"^push", "push…", EN, NULL},
    {"^put", "put…", EN, NULL},
    {"qestcequi tu empeche de !dormir|avancer|bouger|agir|etre|reussir", "qu’est-ce qui t’empêche…", FR, NULL},
    {"qestcequi tu retient de", "qu’est-ce qui te retient de…", FR, NULL},
    {"quand vas tu enfin", "quand vas-tu enfin…", FR, NULL},
    {"quid de", "quid de…", FR, NULL},
    {"^quit", "quit…", EN, NULL},
    {"^quitte", "quitte…", FR, NULL},
    {"raison pour laquelle tu ne", "une raison pour laquelle tu ne…", FR, NULL},
    {"^reach out", "reach out…", EN, NULL},
    {"^refuse", "refuse…", FR, NULL},
    {"^rencontre", "rencontre…", FR, NULL},
    {"^schedule", "schedule…", EN, NULL},
    {"serait ce envisageable", "serait-ce envisageable…", FR, NULL},
    {"serait envisageable", "serait envisageable…", FR, "qui quoi"},
    {"serait il envisageable", "serait-il envisageable…", FR, NULL},
    {"serait il judicieux", "serait-il judicieux…", FR, NULL},
    {"serait il possible", "serait-il possible…", FR, NULL},
    {"serait la solution", "serait la solution…", FR, NULL},
    {"serait pas", "ça serait pas…", FR, NULL},
    {"serait pas mieux", "serait pas mieux…", FR, NULL},
    {"serait plus simple", "serait plus simple…", FR, NULL},
    {"serait possible de", "serait possible de…", FR, "qui quoi"},
    {"serait tu possible", "ça serait-tu possible…", FR, NULL},
    {"serait une option", "serait une option…", FR, NULL},
    {"serait utile de", "serait utile de…", FR, NULL},
    {"^set up", "set up…", EN, NULL},
    {"^share", "share…", EN, NULL},
    {"should you", "should you…", EN, "what how when who which where"},
    {"^shouldn t", "shouldn’t…", EN, NULL},
    {"shouldn t you", "shouldn’t you…", EN, NULL},
    {"^shouldnt", "shouldn’t…", EN, NULL},
    {"si je etais tu", "si j’étais toi…", FR, NULL},
    {"si le on", "et si l’on…", FR, NULL},
    {"^songe a", "songe à…", FR, NULL},
    {"^speak to", "speak to…", EN, NULL},
    {"^start", "start…", EN, NULL},
    {"^stop", "stop…", EN, NULL},
    {"stopping you from !moving|going|sleeping|progressing", "what’s stopping you from…", EN, NULL},
    {"^suggest", "suggest…", EN, NULL},
    {"^surely", "surely…", EN, NULL},
    {"^take", "take…", EN, NULL},
    {"^talk to", "talk to…", EN, NULL},
    {"^tell her", "tell her…", EN, NULL},
    {"^tell him", "tell him…", EN, NULL},
    {"^tell them", "tell them…", EN, NULL},
    {"^tell your", "tell your…", EN, NULL},
    {"^tente", "tente…", FR, NULL},
    {"^that would", "that would…", EN, NULL},
    {"^think about", "think about…", EN, NULL},
    {"^try", "try…", EN, NULL},
    {"tu as @fr", "tu as … (une action précise) ?", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"tu as considere", "tu as considéré…", FR, "que quoi qestceque"},
    {"tu as deja @fr", "tu as déjà … ?", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"tu as deja essaye", "tu as déjà essayé…", FR, "que quoi qestceque"},
    {"tu as deja pense a", "tu as déjà pensé à…", FR, "que quoi qestceque"},
    {"tu as envisage", "tu as envisagé…", FR, "que quoi qestceque"},
    {"tu as essaye", "tu as essayé…", FR, "que quoi qestceque"},
    {"tu as eu le occasion", "as-tu eu l’occasion de…", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"tu as jamais @fr", "t’as jamais … ?", FR, NULL},
    {"tu as pas @fr", "t’as pas … ?", FR, NULL},
    {"tu as pas pense", "t’as pas pensé…", FR, NULL},
    {"tu as pense a", "tu as pensé à…", FR, "que quoi qestceque"},
    {"tu as pense au", "tu as pensé à…", FR, "que quoi qestceque"},
    {"tu as pense aux", "tu as pensé à…", FR, "que quoi qestceque"},
    {"tu as songe", "tu as songé à…", FR, "que quoi qestceque"},
    {"tu as tente", "tu as tenté…", FR, "que quoi qestceque"},
    {"tu as vu avec", "as-tu vu avec…", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"tu as ~ fait appel", "as-tu fait appel…", FR, NULL},
    {"tu aurais du", "tu aurais dû…", FR, NULL},
    {"tu aurais interet", "tu aurais intérêt…", FR, NULL},
    {"tu crois pas que", "tu crois pas que…", FR, NULL},
    {"tu devrais", "tu devrais…", FR, "que dis disais penses crois trouves"},
    {"tu dirais de", "que dirais-tu de…", FR, NULL},
    {"tu dois", "tu dois…", FR, "que quoi comment qestceque"},
    {"tu es @fr", "t’es-tu … ?", FR, "que quoi qestceque quand lorsque qui combien comment ou"},
    {"tu es demande si", "t’es-tu demandé si…", FR, NULL},
    {"tu ne as jamais @fr", "tu n’as jamais … ?", FR, NULL},
    {"tu ne as pas @fr", "tu n’as pas … ?", FR, NULL},
    {"tu ne crois pas que", "tu ne crois pas que…", FR, NULL},
    {"tu ne devrais pas", "tu ne devrais pas…", FR, NULL},
    {"tu ne penses pas que", "tu ne penses pas que…", FR, NULL},
    {"tu ne peux pas simplement", "tu ne peux pas simplement…", FR, NULL},
    {"tu ne pourrais pas", "tu ne pourrais pas…", FR, NULL},
    {"tu ne veux pas", "tu ne veux pas…", FR, NULL},
    {"tu penses pas que", "tu penses pas que…", FR, NULL},
    {"tu permettrait de", "te permettrait de…", FR, NULL},
    {"tu peux pas juste", "tu peux pas juste…", FR, NULL},
    {"tu pourrais", "tu pourrais…", FR, "que quoi comment qestceque ou quand qui combien"},
    {"tu tente pas de", "ça te tente pas de…", FR, NULL},
    {"tu veux pas", "tu veux pas…", FR, NULL},
    {"tu y as pense", "tu y as pensé ?", FR, NULL},
    {"^un _ $", "un … ?", FR, NULL},
    {"^un _ peut etre $", "un …, peut-être ?", FR, NULL},
    {"^un ~ peut etre", "un …, peut-être ?", FR, NULL},
    {"^une _ $", "une … ?", FR, NULL},
    {"^une _ peut etre $", "une …, peut-être ?", FR, NULL},
    {"^une ~ peut etre", "une …, peut-être ?", FR, NULL},
    {"^va", "va…", FR, NULL},
    {"vaudrait il mieux", "vaudrait-il mieux…", FR, NULL},
    {"vaudrait la peine", "vaudrait la peine…", FR, NULL},
    {"vaut la peine de", "vaut la peine de…", FR, NULL},
    {"venu a le esprit de", "venu à l’esprit de…", FR, NULL},
    {"verrais ca", "tu verrais ça…", FR, NULL},
    {"what about *ing", "what about …ing", EN, NULL},
    {"what about a", "what about a…", EN, NULL},
    {"what about an", "what about an…", EN, NULL},
    {"what if the", "what if the…", EN, NULL},
    {"what if we", "what if we…", EN, NULL},
    {"what if you !do|did", "what if you…", EN, NULL},
    {"what if your", "what if your…", EN, NULL},
    {"why didn t you", "why didn’t you…", EN, NULL},
    {"why don t you", "why don’t you…", EN, NULL},
    {"why dont you", "why don’t you…", EN, NULL},
    {"why haven t you", "why haven’t you…", EN, NULL},
    {"why not", "why not…", EN, NULL},
    {"why won t you", "why won’t you…", EN, NULL},
    {"why wouldn t you", "why wouldn’t you…", EN, NULL},
    {"would *ing", "would …ing…", EN, NULL},
    {"^would a", "would a…", EN, NULL},
    {"^would an", "would an…", EN, NULL},
    {"would it be better", "would it be better…", EN, NULL},
    {"would it be crazy", "would it be crazy…", EN, NULL},
    {"would it be so bad", "would it be so bad…", EN, NULL},
    {"would it be worth", "would it be worth…", EN, NULL},
    {"would it help", "would it help…", EN, NULL},
    {"would it make sense", "would it make sense…", EN, NULL},
    {"would it not be", "would it not be…", EN, NULL},
    {"would something like", "would something like…", EN, NULL},
    {"would you be open to", "would you be open to…", EN, NULL},
    {"would you be willing to", "would you be willing to…", EN, NULL},
    {"would you consider", "would you consider…", EN, NULL},
    {"would you think about", "would you think about…", EN, NULL},
    {"would ~ be possible", "would … be possible?", EN, NULL},
    {"^wouldn t", "wouldn’t…", EN, NULL},
    {"wouldn t it be", "wouldn’t it be…", EN, NULL},
    {"wouldn t it help", "wouldn’t it help…", EN, NULL},
    {"wouldn t it make sense", "wouldn’t it make sense…", EN, NULL},
    {"wouldn t you be better", "wouldn’t you be better…", EN, NULL},
    {"^wouldnt", "wouldn’t…", EN, NULL},
    {"y a t il moyen", "y a-t-il moyen…", FR, NULL},
    {"y as tu pense", "y as-tu pensé ?", FR, NULL},
    {"y aurait il moyen", "y aurait-il moyen…", FR, NULL},
    {"^you @en", "you … ?", EN, NULL},
    {"you could", "you could…", EN, "what how who where which when"},
    {"you have to", "you have to…", EN, "what how who where which when do"},
    {"you may want", "you may want…", EN, NULL},
    {"you might want", "you might want…", EN, NULL},
    {"you need to", "you need to…", EN, "what how who where which when do would did"},
    {"you ought to", "you ought to…", EN, NULL},
    {"you should", "you should…", EN, "what how who where which when say said think feel"},
    {"you ve @en", "you’ve … ?", EN, NULL},
};
/* clang-format on */
#undef FR
#undef EN
#define ADVICE_NCUES (sizeof(advice_cues) / sizeof(advice_cues[0]))

/* Words that may stand before an anchored cue at a sentence's start. */
static const char *const advice_fillers[] = {
    "alors", "also",        "and",     "aussi",  "ben",      "bon",
    "but",   "dis",         "donc",    "ecoute", "enfin",    "et",
    "euh",   "franchement", "frankly", "hmm",    "honestly", "honnetement",
    "juste", "listen",      "look",    "mais",   "ok",       "okay",
    "ou",    "pis",         "puis",    "so",     "well",
};

/* French vous-forms (and other second persons) as the tu-form the patterns
 * use. Sorted by the first column (binary search). */
static const char *const advice_tu_forms[][2] = {
    {"acceptez", "accepte"},
    {"allez", "va"},
    {"appelez", "appelle"},
    {"arretez", "arrete"},
    {"auriez", "aurais"},
    {"avez", "as"},
    {"changez", "change"},
    {"croyez", "crois"},
    {"deleguez", "delegue"},
    {"demandez", "demande"},
    {"devez", "dois"},
    {"devriez", "devrais"},
    {"dites", "dis"},
    {"ecrivez", "ecris"},
    {"envisageriez", "envisagerais"},
    {"envisagez", "envisage"},
    {"essayez", "essaie"},
    {"etes", "es"},
    {"evitez", "evite"},
    {"faites", "fais"},
    {"gardez", "garde"},
    {"laissez", "laisse"},
    {"mettez", "mets"},
    {"organisez", "organise"},
    {"osez", "ose"},
    {"parlez", "parle"},
    {"pensez", "penses"},
    {"pk", "pourquoi"},
    {"pourriez", "pourrais"},
    {"pouvez", "peux"},
    {"pq", "pourquoi"},
    {"prenez", "prends"},
    {"proposez", "propose"},
    {"quittez", "quitte"},
    {"refusez", "refuse"},
    {"rencontrez", "rencontre"},
    {"seriez", "serais"},
    {"songez", "songe"},
    {"te", "tu"},
    {"tentez", "tente"},
    {"toi", "tu"},
    {"u", "you"},
    {"ur", "your"},
    {"voudriez", "voudrais"},
    {"vous", "tu"},
};

/* One word of the normalised text. */
struct advice_word {
    uint16_t off;      /* offset in the normalised buffer */
    uint16_t len;      /* bytes */
    uint16_t sentence; /* index of its sentence */
};

struct advice_text {
    char buf[ADVICE_MAX_BYTES * 2]; /* œ becomes two letters */
    size_t used;
    struct advice_word words[ADVICE_MAX_WORDS];
    size_t nwords;
    uint16_t sentence; /* current sentence index */
    bool in_word;
    /* Per sentence, once the matcher asked: 0 not known yet, 1 vetoed,
     * 2 not (advice_sentence_vetoed). A sentence ends with a word, so
     * sentence <= ADVICE_MAX_WORDS. */
    uint8_t vetoed[ADVICE_MAX_WORDS + 1];
};

/* ---- normalising -------------------------------------------------------- */

/* Letters for U+00C0..U+00FF (second byte 0x80..0xBF after 0xC3), folded to
 * ASCII lower case; 0 for what is not a letter (×, ÷). */
static const char advice_latin1[64] = {
    'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
    'd', 'n', 'o', 'o', 'o', 'o', 'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 't', 's',
    'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
    'd', 'n', 'o', 'o', 'o', 'o', 'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 't', 'y',
};

static bool advice_word_is(const struct advice_text *t, const struct advice_word *w,
                           const char *s)
{
    size_t n = strlen(s);

    return w->len == n && memcmp(t->buf + w->off, s, n) == 0;
}

/* Replaces the text of the last word with s (not longer than the room the
 * buffer has, which the callers' short replacements always fit). */
static void advice_word_set(struct advice_text *t, struct advice_word *w, const char *s)
{
    size_t n = strlen(s);

    if (w->off + n > sizeof(t->buf))
        return;
    memcpy(t->buf + w->off, s, n);
    w->len = (uint16_t)n;
    t->used = w->off + n;
}

/* Ends the current word, applying the elision and tu-form rewrites. */
static void advice_word_end(struct advice_text *t, bool apostrophe)
{
    struct advice_word *w;

    if (!t->in_word)
        return;
    t->in_word = false;
    w = &t->words[t->nwords - 1];
    if (apostrophe && w->len <= 2) {
        /* French elisions: n' -> ne, qu' -> que, j' -> je, t' -> tu... */
        static const char *const elided[][2] = {
            {"c", "ce"}, {"d", "de"},   {"j", "je"}, {"l", "le"}, {"m", "me"},
            {"n", "ne"}, {"qu", "que"}, {"s", "se"}, {"t", "tu"},
        };
        for (size_t i = 0; i < sizeof(elided) / sizeof(elided[0]); i++) {
            if (advice_word_is(t, w, elided[i][0])) {
                advice_word_set(t, w, elided[i][1]);
                break;
            }
        }
        return;
    }
    {
        size_t lo = 0, hi = sizeof(advice_tu_forms) / sizeof(advice_tu_forms[0]);

        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const char *k = advice_tu_forms[mid][0];
            size_t kn = strlen(k);
            int c = memcmp(t->buf + w->off, k, w->len < kn ? w->len : kn);

            if (c == 0)
                c = (w->len > kn) - (w->len < kn);
            if (c == 0) {
                advice_word_set(t, w, advice_tu_forms[mid][1]);
                break;
            }
            if (c < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
    }
}

static void advice_sentence_end(struct advice_text *t)
{
    advice_word_end(t, false);
    if (t->nwords && t->words[t->nwords - 1].sentence == t->sentence)
        t->sentence++;
}

/* Appends one folded letter (or a letter's two, for œ). */
static void advice_letter(struct advice_text *t, const char *s, size_t n)
{
    if (t->used + n > sizeof(t->buf))
        return;
    if (!t->in_word) {
        if (t->nwords >= ADVICE_MAX_WORDS)
            return;
        t->words[t->nwords++] = (struct advice_word){
            .off = (uint16_t)t->used, .len = 0, .sentence = t->sentence};
        t->in_word = true;
    }
    memcpy(t->buf + t->used, s, n);
    t->used += n;
    t->words[t->nwords - 1].len += (uint16_t)n;
}

/* "est ce que" at a sentence's start -> "estceque"; "que est ce que/qui"
 * anywhere -> "qestceque"/"qestcequi": the question forms that decide
 * whether "tu as essayé" asks about the past or proposes. */
static void advice_fold_est_ce_que(struct advice_text *t)
{
    size_t out = 0;

    for (size_t i = 0; i < t->nwords; i++) {
        struct advice_word *w = &t->words[i];
        bool start = i == 0 || t->words[i - 1].sentence != w->sentence;

        if (i + 3 < t->nwords && advice_word_is(t, w, "que") &&
            advice_word_is(t, &t->words[i + 1], "est") &&
            advice_word_is(t, &t->words[i + 2], "ce") &&
            (advice_word_is(t, &t->words[i + 3], "que") ||
             advice_word_is(t, &t->words[i + 3], "qui")) &&
            t->words[i + 3].sentence == w->sentence) {
            bool qui = advice_word_is(t, &t->words[i + 3], "qui");
            /* "qestceque" fits in the four words' bytes ("que est ce que"). */
            memcpy(t->buf + w->off, qui ? "qestcequi" : "qestceque", 9);
            w->len = 9;
            t->words[out++] = *w;
            i += 3;
            continue;
        }
        if (start && i + 2 < t->nwords && advice_word_is(t, w, "est") &&
            advice_word_is(t, &t->words[i + 1], "ce") &&
            advice_word_is(t, &t->words[i + 2], "que") &&
            t->words[i + 2].sentence == w->sentence) {
            memcpy(t->buf + w->off, "estceque", 8);
            w->len = 8;
            t->words[out++] = *w;
            i += 2;
            continue;
        }
        t->words[out++] = *w;
    }
    t->nwords = out;
}

/* Cuts text into normalised words and sentences (see the file comment). */
static void advice_normalise(struct advice_text *t, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;

    if (len > ADVICE_MAX_BYTES)
        len = ADVICE_MAX_BYTES;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];

        if (c < 0x80) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                advice_letter(t, (const char *)&p[i], 1);
            } else if (c >= 'A' && c <= 'Z') {
                char l = (char)(c - 'A' + 'a');
                advice_letter(t, &l, 1);
            } else if (c == '\'' || c == '`') {
                advice_word_end(t, true);
            } else if (c == '.' || c == '?' || c == '!' || c == ';' || c == ':' ||
                       c == '\n') {
                advice_sentence_end(t);
            } else {
                advice_word_end(t, false);
            }
            i++;
            continue;
        }
        if (c == 0xC3 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0xBF) {
            char l = advice_latin1[p[i + 1] - 0x80];
            if (l)
                advice_letter(t, &l, 1);
            else
                advice_word_end(t, false);
            i += 2;
            continue;
        }
        if (c == 0xC5 && i + 1 < len && (p[i + 1] == 0x92 || p[i + 1] == 0x93)) {
            advice_letter(t, "oe", 2); /* Œ œ */
            i += 2;
            continue;
        }
        if (c == 0xCA && i + 1 < len && p[i + 1] == 0xBC) {
            advice_word_end(t, true); /* ʼ */
            i += 2;
            continue;
        }
        if (c == 0xE2 && i + 2 < len && p[i + 1] == 0x80) {
            unsigned char d = p[i + 2];
            if (d == 0x98 || d == 0x99 || d == 0xB2)
                advice_word_end(t, true); /* ‘ ’ ′ */
            else if (d == 0xA6 || d == 0x93 || d == 0x94)
                advice_sentence_end(t); /* … – — end a clause */
            else
                advice_word_end(t, false); /* dashes, spaces, quotes */
            i += 3;
            continue;
        }
        if (c == 0xC2) {
            advice_word_end(t, false); /* no-break space, « », ¿ ¡ */
            i += 2;
            continue;
        }
        /* Any other character: a letter of another script, kept whole. */
        {
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (i + n > len)
                n = len - i;
            advice_letter(t, (const char *)&p[i], n);
            i += n;
        }
    }
    advice_word_end(t, false);
    advice_fold_est_ce_que(t);
}

/* ---- matching ----------------------------------------------------------- */

/* "@fr": French past participles of an action taken toward someone or
 * something (prefixes): "as-tu parlé / contacté / vérifié…" asks whether the
 * client did one specific thing, which the guide counts as advice. */
static const char *const advice_acts_fr[] = {
    "appele",  "approche",  "check",    "consider", "consulte",  "contacte", "demande",
    "discute", "ecrit",     "envisage", "essay",    "evalue",    "explore",  "inform",
    "informe", "inscri",    "jase",     "negocie",  "parle",     "pose",     "propose",
    "regarde", "rencontre", "renseign", "saisi",    "sollicite", "sonde",    "songe",
    "soumis",  "tente",     "verifie",
};
/* "@en": English past participles, the same idea ("have you spoken…"). */
static const char *const advice_acts_en[] = {
    "applied",    "approached", "asked",     "called",    "checked", "cons",
    "considered", "consulted",  "contacted", "discussed", "emailed", "explored",
    "looked",     "met",        "proposed",  "raised",    "reached", "requested",
    "run",        "spoken",     "talked",    "thought",   "tried",
};
/* "@impfr", "@impen": imperatives that tell the client what to do, when
 * they open a sentence ("Recadre-le.", "Talk to HR."). Whole words. */
static const char *const advice_imperatives_fr[] = {
    "accepte",  "appelle", "arrete",    "cherche",   "clarifie", "confie",
    "contacte", "delegue", "documente", "ecris",     "envoie",   "exige",
    "fixe",     "impose",  "inscris",   "negocie",   "organise", "planifie",
    "prends",   "recadre", "refuse",    "rencontre", "trouve",
};
static const char *const advice_imperatives_en[] = {
    "ask",   "book",     "call", "clarify", "delegate",  "document",
    "email", "escalate", "hire", "insist",  "negotiate", "organise",
    "plan",  "refuse",   "send", "sign",    "write",
};

/* "@enb": their base forms ("did you talk…"). */
static const char *const advice_acts_enb[] = {
    "apply",   "approach", "ask",   "bring",   "call",    "check", "consider", "consult",
    "contact", "discuss",  "email", "explore", "hire",    "look",  "meet",     "move",
    "offer",   "propose",  "raise", "reach",   "request", "run",   "set",      "speak",
    "talk",    "tell",     "think", "try",     "use",     "write",
};

/* Sentences with one of these are clean whatever cue they hold: they build
 * on what the client said, ask for the client's own view or a description,
 * ask about doing nothing, or name no one in particular (issue 13's
 * labelling guide). Normalised words, matched anywhere in the sentence. */
static const char *const advice_vetoes[] = {
    "a le epoque",
    "a personne $",
    "a quelqu un $",
    "according to you",
    "as you see it",
    "back then",
    "de apres tu",
    "decrire",
    "describe",
    "did nothing",
    "do nothing",
    "done anything",
    "done something",
    "essaye quelque chose",
    "explain to us",
    "fais rien",
    "faisais rien",
    "fait quelque chose",
    "in your own view",
    "in your view",
    "la derniere fois",
    "last month",
    "last time",
    "last week",
    "last year",
    "le an dernier",
    "le annee derniere",
    "le mois dernier",
    "lorsque tu as",
    "nous as dit",
    "nous dire",
    "nous en dire",
    "nous expliquer",
    "pour quand",
    "preciser",
    "quand tu as",
    "quelles",
    "quels",
    "raconter",
    "redonner",
    "repeat",
    "repeter",
    "rien faire",
    "selon tu",
    "tell us",
    "tente quelque chose",
    "to anybody",
    "to anyone",
    "to somebody",
    "to someone",
    "tried anything",
    "tried something",
    "tu as dit",
    "tu as evoque*",
    "tu as mentionne*",
    "tu as parle de",
    "tu as parle ~ de",
    "tu dis",
    "tu disais",
    "tu nous as",
    "when you did",
    "when you tried",
    "with anyone",
    "with someone",
    "you explain",
    "you mentioned",
    "you said",
    "you say",
    "you spoke about",
    "you talked about",
    "you told",
};

static bool advice_in_words(const char *word, size_t len, const char *const *list,
                            size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (list[k][0] == word[0] && strlen(list[k]) == len &&
            memcmp(word, list[k], len) == 0)
            return true;
    return false;
}

static bool advice_in_class(const char *word, size_t len, const char *const *list,
                            size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t m;

        if (list[k][0] != word[0])
            continue;
        m = strlen(list[k]);

        if (len >= m && memcmp(word, list[k], m) == 0)
            return true;
    }
    return false;
}

/* Length of the first word of s (up to a space or the end). */
static size_t advice_token_len(const char *s)
{
    size_t n = 0;

    while (s[n] && s[n] != ' ')
        n++;
    return n;
}

/* Does pattern token tok (length n) match word w? */
static bool advice_token_match(const struct advice_text *t, const struct advice_word *w,
                               const char *tok, size_t n)
{
    const char *word = t->buf + w->off;

    /* A plain word, the most common token, first. */
    if (tok[0] >= 'a' && tok[0] <= 'z' && tok[n - 1] != '*')
        return w->len == n && memcmp(word, tok, n) == 0;
    if (n == 1 && tok[0] == '_')
        return true;
    if (n == 3 && memcmp(tok, "@fr", 3) == 0)
        return advice_in_class(word, w->len, advice_acts_fr,
                               sizeof(advice_acts_fr) / sizeof(advice_acts_fr[0]));
    if (n == 3 && memcmp(tok, "@en", 3) == 0)
        return advice_in_class(word, w->len, advice_acts_en,
                               sizeof(advice_acts_en) / sizeof(advice_acts_en[0]));
    if (n == 6 && memcmp(tok, "@impfr", 6) == 0)
        return advice_in_words(word, w->len, advice_imperatives_fr,
                               sizeof(advice_imperatives_fr) /
                                   sizeof(advice_imperatives_fr[0]));
    if (n == 6 && memcmp(tok, "@impen", 6) == 0)
        return advice_in_words(word, w->len, advice_imperatives_en,
                               sizeof(advice_imperatives_en) /
                                   sizeof(advice_imperatives_en[0]));
    if (n == 4 && memcmp(tok, "@enb", 4) == 0)
        return advice_in_class(word, w->len, advice_acts_enb,
                               sizeof(advice_acts_enb) / sizeof(advice_acts_enb[0]));
    if (n > 1 && tok[n - 1] == '*')
        return w->len >= n - 1 && memcmp(word, tok, n - 1) == 0;
    if (n > 1 && tok[0] == '*')
        return w->len >= n - 1 && memcmp(word + w->len - (n - 1), tok + 1, n - 1) == 0;
    return w->len == n && memcmp(word, tok, n) == 0;
}

/* Matches the pattern tokens from pat against the words from index i on,
 * within one sentence. "~" tries each gap of 0..ADVICE_GAP_MAX words. */
static bool advice_match_from(const struct advice_text *t, size_t i, const char *pat,
                              uint16_t sentence)
{
    while (*pat == ' ')
        pat++;
    if (!*pat)
        return true;
    {
        size_t n = advice_token_len(pat);

        if (n == 1 && pat[0] == '~') {
            for (size_t gap = 0; gap <= ADVICE_GAP_MAX; gap++) {
                if (advice_match_from(t, i + gap, pat + 1, sentence))
                    return true;
                if (i + gap >= t->nwords || t->words[i + gap].sentence != sentence)
                    break;
            }
            return false;
        }
        if (n == 1 && pat[0] == '$')
            return (i >= t->nwords || t->words[i].sentence != sentence) &&
                   advice_match_from(t, i, pat + 1, sentence);
        if (pat[0] == '!') {
            /* "!a|b": the next word, if the sentence has one, is none of these. */
            if (i >= t->nwords || t->words[i].sentence != sentence)
                return advice_match_from(t, i, pat + n, sentence);
            for (const char *alt = pat + 1; alt < pat + n;) {
                size_t m = 0;

                while (alt + m < pat + n && alt[m] != '|')
                    m++;
                if (t->words[i].len == m && memcmp(t->buf + t->words[i].off, alt, m) == 0)
                    return false;
                alt += m + 1;
            }
            return advice_match_from(t, i + 1, pat + n, sentence);
        }
        if (i >= t->nwords || t->words[i].sentence != sentence)
            return false;
        if (!advice_token_match(t, &t->words[i], pat, n))
            return false;
        return advice_match_from(t, i + 1, pat + n, sentence);
    }
}

static bool advice_in_list(const struct advice_text *t, const struct advice_word *w,
                           const char *list)
{
    if (!list)
        return false;
    while (*list) {
        size_t n = advice_token_len(list);

        if (w->len == n && memcmp(t->buf + w->off, list, n) == 0)
            return true;
        list += n;
        while (*list == ' ')
            list++;
    }
    return false;
}

static bool advice_is_filler(const struct advice_text *t, const struct advice_word *w)
{
    for (size_t k = 0; k < sizeof(advice_fillers) / sizeof(advice_fillers[0]); k++)
        if (advice_word_is(t, w, advice_fillers[k]))
            return true;
    return false;
}

/* May an anchored cue start at word i: first of its sentence, or after
 * nothing but at most ADVICE_FILLERS fillers? */
static bool advice_at_start(const struct advice_text *t, size_t i)
{
    uint16_t s = t->words[i].sentence;
    size_t fillers = 0;

    while (i > 0 && t->words[i - 1].sentence == s) {
        i--;
        if (!advice_is_filler(t, &t->words[i]) || ++fillers > ADVICE_FILLERS)
            return false;
    }
    return true;
}

/* Does sentence hold one of advice_vetoes? Asked each time a cue matches
 * in the sentence: the answer is kept in t->vetoed, so that a long text
 * whose cues match many times pays for each sentence once. */
static bool advice_sentence_vetoed(struct advice_text *t, uint16_t sentence)
{
    bool vetoed = false;

    if (sentence < sizeof(t->vetoed) && t->vetoed[sentence])
        return t->vetoed[sentence] == 1;
    for (size_t i = 0; i < t->nwords && !vetoed; i++) {
        if (t->words[i].sentence != sentence)
            continue;
        for (size_t k = 0; k < sizeof(advice_vetoes) / sizeof(advice_vetoes[0]); k++) {
            const char *v = advice_vetoes[k];

            /* A veto headed by a plain word needs a word with its letter. */
            if (v[0] >= 'a' && v[0] <= 'z' && t->buf[t->words[i].off] != v[0])
                continue;
            if (advice_match_from(t, i, v, sentence)) {
                vetoed = true;
                break;
            }
        }
    }
    if (sentence < sizeof(t->vetoed))
        t->vetoed[sentence] = vetoed ? 1 : 2;
    return vetoed;
}

/* The cue's first word (after "^ "), for the sort order and the lookup. */
static const char *advice_cue_head(const struct advice_cue *c, size_t *n)
{
    const char *p = c->pattern;

    if (*p == '^')
        p++;
    while (*p == ' ')
        p++;
    *n = advice_token_len(p);
    return p;
}

/* Compares word w with the head of cue c, as strcmp would. */
static int advice_cmp_head(const struct advice_text *t, const struct advice_word *w,
                           const struct advice_cue *c)
{
    size_t n;
    const char *head = advice_cue_head(c, &n);
    size_t m = w->len < n ? w->len : n;
    int r = memcmp(t->buf + w->off, head, m);

    return r ? r : (w->len > n) - (w->len < n);
}

/* Tries cue c at word i; on a match fills *out and returns true. */
static bool advice_cue_try(struct advice_text *t, size_t i, const struct advice_cue *c,
                           enum advice_lang lang, struct advice_result *out)
{
    const struct advice_word *w = &t->words[i];
    const char *pat = c->pattern;
    bool anchored = *pat == '^';

    /* Cheapest first: most cues fail on their words. */
    if (lang != ADVICE_LANG_ANY && c->lang != lang)
        return false;
    if (!advice_match_from(t, i, pat + anchored, w->sentence))
        return false;
    if (anchored && !advice_at_start(t, i))
        return false;
    if (c->not_after && i > 0 && t->words[i - 1].sentence == w->sentence &&
        advice_in_list(t, &t->words[i - 1], c->not_after))
        return false;
    if (advice_sentence_vetoed(t, w->sentence))
        return false;
    out->advice_like = true;
    out->cue = c->label;
    out->lang = c->lang == ADVICE_LANG_FR ? "fr" : "en";
    return true;
}

int advice_check(const char *text, size_t len, enum advice_lang lang,
                 struct advice_result *out)
{
    struct advice_text t;

    if (!text || !out)
        return -1;
    *out = (struct advice_result){0};
    t.used = 0;
    t.nwords = 0;
    t.sentence = 0;
    t.in_word = false;
    advice_normalise(&t, text, len);
    memset(t.vetoed, 0,
           (size_t)t.sentence + 1 < sizeof(t.vetoed) ? (size_t)t.sentence + 1
                                                     : sizeof(t.vetoed));
    for (size_t i = 0; i < t.nwords; i++) {
        const struct advice_word *w = &t.words[i];
        size_t lo = 0, hi = ADVICE_NCUES;

        /* The cues headed by a word class ("@impfr") sort first, before any
         * letter: they are tried at every word. */
        for (size_t k = 0;
             k < ADVICE_NCUES &&
             advice_cues[k].pattern[advice_cues[k].pattern[0] == '^'] == '@';
             k++)
            if (advice_cue_try(&t, i, &advice_cues[k], lang, out))
                return 0;
        /* The first cue whose head is >= the word. */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (advice_cmp_head(&t, w, &advice_cues[mid]) > 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t k = lo;
             k < ADVICE_NCUES && advice_cmp_head(&t, w, &advice_cues[k]) == 0; k++)
            if (advice_cue_try(&t, i, &advice_cues[k], lang, out))
                return 0;
    }
    return 0;
}

/* For test_advice: the table's size and its rows' heads, to check the
 * order the lookup relies on. Declared in the test, not in advice.h. */
size_t advice_cue_count(void);
const char *advice_cue_pattern(size_t i);
const char *advice_tu_form(size_t i);

size_t advice_cue_count(void)
{
    return ADVICE_NCUES;
}

const char *advice_cue_pattern(size_t i)
{
    return i < ADVICE_NCUES ? advice_cues[i].pattern : NULL;
}

const char *advice_tu_form(size_t i)
{
    return i < sizeof(advice_tu_forms) / sizeof(advice_tu_forms[0])
               ? advice_tu_forms[i][0]
               : NULL;
}
