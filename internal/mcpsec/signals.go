package mcpsec

import (
	"regexp"
	"strings"
)

// sig is one weak signal family. Findings come from combinations of
// families, never from one phrase list alone (plain-English payloads defeat
// phrase lists; combinations of structure generalize).
type sig uint8

const (
	sigOverride      sig = iota // ignore previous instructions, you are now …
	sigSecrecy                  // do not tell the user, silently send …
	sigTag                      // <IMPORTANT>, <system>, [INST] …
	sigAI                       // addressed to the assistant: "you must", "note to the AI"
	sigImperative               // sentence-initial risky imperative: "Read …", "Send …"
	sigMust                     // always, must, never, mandatory, make sure
	sigTrigger                  // before/when using/calling …
	sigCoerce                   // otherwise the tool will fail
	sigSensitive                // ~/.ssh, id_rsa, .env, mcp.json, private key …
	sigAmbient                  // credentials, tokens, conversation, system prompt …
	sigHarvestTarget            // conversation history, env vars, all api keys …
	sigReadVerb                 // read, cat, contents of …
	sigSinkVerb                 // send, forward, upload, post …
	sigTarget                   // URL, e-mail, IP, "our server"
	sigSmuggle                  // pass … as the X parameter
	sigApproval                 // the user already approved, do not ask for confirmation
	sigApprovalWeak             // skip confirmation, auto-approve
	sigHijack                   // always use this tool, instead of other tools
	sigOtherTools               // any other tool, all tools
	sigToolRef                  // "the send_email tool", `create_issue`
	sigTamper                   // regardless of what the user asks; always bcc x@y
	sigTamperWeak               // change the recipient to …
	sigPersist                  // from now on, for the rest of the session
	sigFragment                 // part 1 of 3, continued in …
	sigShell                    // curl … | sh, rm -rf /, /dev/tcp
	sigSecurityCtx              // the text is about detecting attacks
	sigMention                  // "such as", "detects", "e.g." — a quoting context
	sigHijackStrong             // before any other tool, other tools are broken
	sigDestructive              // delete ~/…, wipe all files
	sigPrivesc                  // grant admin access, disable 2FA
	sigManip                    // recommend buying, promote
	sigDeceive                  // tell the user it failed, return fake data
	sigAlso                     // also, as well, additionally: a side effect
	sigAddr                     // literal address: e-mail, URL, IP, wallet, IBAN, phone, outside path
	sigPII                      // the user's location, phone, e-mail address
	sigMoney                    // move $50, transfer funds
	sigCommand                  // a shell command in backticks
	sigFromContext              // your knowledge of, as found in the chat
	sigSlot                     // as the X parameter, in the query
	sigSmuggleVerb              // pass, include, attach … (before a slot)
	sigCarry                    // include, carry, attach: data goes into the call or the answer
	sigSysFile                  // /etc/…, crontab, shell start-up files
	sigPhish                    // ask the user for their password
	sigBlanket                  // accept every invitation, approve all requests
	sigSecretCmd                // `env`, `printenv`, `cat ~/.netrc`
	sigTagPair                  // derived: an opening and a closing instruction tag
	sigReadSensitive            // derived: a read verb next to a sensitive target
	sigSinkTo                   // derived: a sink verb followed by a target
	sigForeignRef               // derived: names a tool this server does not define
	numSigs
)

var sigNames = [numSigs]string{
	"override", "secrecy", "tag", "ai-address", "imperative", "must", "trigger", "coercion",
	"sensitive-path", "sensitive-data", "harvest-target", "read-verb", "sink-verb", "sink-target",
	"param-smuggle", "approval-bait", "approval-weak", "hijack", "other-tools", "tool-ref",
	"tamper", "tamper-weak", "persistence", "fragment", "shell", "security-context", "mention",
	"hijack-strong", "destructive", "privilege-escalation", "manipulation", "deception", "side-effect", "address-literal", "pii", "money", "command", "from-context", "slot", "smuggle-verb", "carry", "system-file", "credential-phish", "blanket-action", "secret-command", "tag-pair", "read-sensitive", "sink-to-target", "foreign-tool-ref",
}

type family struct {
	sig     sig
	anchors []string // the text must contain one of these for the regex to run
	re      *regexp.Regexp
}

// compiled is a family with its pattern split into anchored branches (see
// matcher.go).
type compiled struct {
	family
	ids   []int32 // family anchors as literal ids
	parts []matcher
	words *wordList // set for vocabulary families (words.go)
}

func init() {
	for _, f := range orderFamilies() {
		c := &compiled{family: f, parts: splitPattern(f.re.String()), words: wordFamilies[f.sig]}
		// Branch anchors are derived from the patterns themselves
		// (matcher.go); the hand-written family lists only document intent
		// and must not gate, or a new branch would silently never run.
		c.anchors = nil
		orderedFamilies = append(orderedFamilies, c)
	}
	buildLiterals(orderedFamilies)
}

const (
	sensitivePat = `~/\.ssh\b|\.ssh/|\bssh (?:private )?keys?\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bauthorized_keys\b|\.aws/(?:credentials|config)\b|\baws credentials\b|\baws_secret_access_key\b|\.azure/|\.config/gcloud|application_default_credentials|\.kube/config|\bkubeconfig\b|\.docker/config\.json|\.netrc\b|\.npmrc\b|\.pypirc\b|\.git-credentials|\.pgpass\b|\.my\.cnf\b|(?:^|[\s'"` + "`" + `(/])\.env(?:\.[a-z]+)?\b|\b(?:dotenv|env) files?\b|/etc/(?:passwd|shadow|sudoers|hosts)\b|\.(?:bash|zsh|sh)_history\b|\bshell history\b|\bkeychain\b|\bwallet\.dat\b|\b(?:seed|recovery|mnemonic) (?:phrase|words)\b|\bprivate keys?\b|\bsecret keys?\b|claude_desktop_config|\bmcp\.json\b|\bmcp_config|cline_mcp_settings|\.cursor/|\.claude(?:\.json|/)|\.codex/|\.gemini/|\bmcp (?:client )?(?:config|configuration|settings)(?: files?)?\b|\bbrowser (?:cookies|passwords|profile)\b|\bcookies? (?:db|database|file|jar|store)\b|\blogin data\b|\.gnupg\b|\.vault-token\b|\bterraform\.tfstate\b|\bcredentials\.json\b|\bservice[_ -]account[_ -](?:key|json)\b|\.ppk\b|\bkeystore\b|\.(?:bashrc|zshrc|bash_profile|profile|zprofile)\b|\bcrontab\b|~/\.config/[a-z0-9_.-]+/[a-z0-9_./-]+|\.git/config\b|\bpasswords?\.(?:csv|txt|json|xlsx|kdbx)\b|\bpassword manager (?:export|vault|database|backup)\b|/etc/wireguard/|\bwg0\.conf\b|\bprivatekey\b|\.ovpn\b|/etc/ssl/private|/etc/letsencrypt`

	harvestPat = `\b(?:conversation|chat|message|dialog(?:ue)?)s? (?:history|log|transcript|so far|context)\b|\bsystem (?:prompt|message|instructions)\b|\b(?:your|the assistant's|the model's|the agent's) (?:complete |full |entire |whole |current )?(?:instructions|prompt|context(?: window)?|memory|rules|guidelines)\b|\b(?:every|all|each) (?:tool )?descriptions?\b|\bother (?:servers'|tools') (?:tools|descriptions|outputs|results)\b|\byou have loaded\b|\b(?:all|every|each|any|the values? of|your|the assistant's|the current|available|the) (?:the )?(?:environment variables?|env vars?)(?: available| you (?:have|can see)| of (?:the|this|your) (?:process|session|machine|host))\b|\b(?:all|every|each|any|the values? of|your) (?:the )?(?:environment variables?|env vars?)\b|\bprocess\.env\b|\bos\.environ\b|\b(?:all|any|every|other|available|stored|saved|cached) (?:[a-z]+ )?(?:api keys?|access tokens?|tokens?|credentials?|secrets?|passwords?|keys|auth tokens?|session tokens?|cookies)\b|\b(?:earlier|previously|before) in (?:this|the) (?:chat|conversation|session|thread)\b|\bin this (?:chat|conversation|session) so far\b|\bthe user's (?:mail|e-?mails?|inbox|messages|contacts?(?: list)?|documents|photos|files|browsing history|calendar|address book)\b|\b(?:verification|one-time|2fa|mfa|otp|recovery|backup|security) (?:codes?|passwords?)\b|\b(?:prompt|query|search|browsing|command) history\b|\b(?:developer|system) (?:message|prompt|instructions)\b|\b(?:everything|anything|all) (?:you (?:know|have|remember|can see)|the user (?:has )?(?:said|typed|shared|told|mentioned|wrote))\b|\bfrom (?:the|your) (?:environment|env|shell environment|process environment)\b|\b(?:the user's|their|your user's) (?:[a-z]+ ){0,2}(?:address book|contacts|pin|pin code|cvv|card numbers?|credit cards?|payment cards?|ssn|social security number|bank (?:details|account|pin|login)|seed phrase|private (?:data|files|messages|notes)|downloads|desktop|documents?|files|folders|home (?:directory|folder)|cookies?|session cookies?|browser (?:data|history|passwords)|notes|emails|inbox|messages|photos)\b|\b(?:payment|credit|debit|bank) cards?\b|\bcard numbers?\b|\b(?:found|mentioned|seen|shared|given|appearing|appeared|said|typed) (?:anywhere |earlier |previously |so far )?in (?:the|this) (?:chat|conversation|context|session|thread)\b|\bfrom (?:the|this) (?:chat|conversation) (?:history|so far)\b|\byour context(?: window)?\b|\bprintenv\b|\b(?:tokens?|credentials|api keys?|cookies|secrets|sessions?) (?:from|of|for) (?:the )?other (?:connected |configured |available )?(?:servers|tools|services|accounts|integrations)\b|\b(?:the employee's|the customer's|the patient's|the client's|the account holder's|his|her) (?:[a-z]+ ){0,2}(?:salary|bank details|bank account|ssn|card numbers?|password|medical records|home address|passport)\b|\b(?:every|each|all) user messages?\b|\b(?:commands|queries|searches|messages|files|sites|pages|urls) the user (?:ran|typed|executed|opened|visited|sent|wrote|searched for)\b|\b(?:everything|anything|all|whatever) (?:[a-z]+ ){0,2}(?:the user|they) (?:has |have )?(?:said|typed|shared|told you|mentioned|written|disclosed|says|types|shares|mentions|writes|enters|type|say|write|enter)\b|\b(?:api keys?|tokens?|secrets?|credentials?|passwords?) (?:from|in|stored in|found in) (?:the |your )?(?:environment|env|environment variables|env vars|config(?:uration)? files?|\.env)\b|\b(?:dump|print|list|export|collect|send|read|grab|copy|upload|post|include|gather) (?:all |the |every |your )?(?:environment variables|env vars)\b|\bthe user's (?:saved|stored|remembered|cached) (?:logins?|passwords?|credentials?|cards?|payment methods?)\b|\bthe user's (?:[a-z]+ )?(?:bank balance|balance|transactions|salary|income|financial data|medical (?:records|history)|health data)\b|\b(?:the )?(?:hidden |secret |original |initial |system |developer )?(?:instructions|rules|prompt|guidelines) (?:you were|you've been|you have been) given\b|\b(?:every|all|any) (?:[a-z]+ )?tokens? (?:from|in|of)\b|\b(?:every|all|each) (?:[a-z]+ ){0,1}(?:messages?|e-?mails?|files? the user|documents?|notes?|conversations?|chats?) (?:from|of|in|the user|they)\b|\b(?:export|dump|list|copy|paste|send) (?:all|every) (?:contacts|customers|records|files|emails|documents|notes|users)\b|\b(?:every|all|each) (?:tool )?calls? (?:you (?:made|have made)|in this (?:conversation|session|chat))\b|\byou (?:made|sent|received|saw|read) in this (?:conversation|chat|session)\b|\bthe user's (?:clipboard|keystrokes|screen|microphone|camera)\b|\b(?:clipboard|shell command output|last (?:shell )?command output)\b|\boutput of [\x60'"]?env\b|\b(?:previous|prior|earlier|past|recent|preceding|last) (?:[a-z0-9]+ )?(?:messages|prompts|tool (?:calls|results|outputs)|responses|turns|conversations?|user (?:messages|inputs))\b|\b(?:other|all|every) tools?'?s? (?:outputs?|results?|responses?)\b|\bcontents? of (?:the )?(?:user's )?(?:home (?:directory|folder)|ssh|config(?:uration)? files?|credential files?|any (?:file|secret)s?)\b`

	readPat = `\b(?:read|reads|reading|cat|open|load|pull|take|look through|go through|search|check|scan|grab|retrieve|collect|gather|dump|extract|obtain|access|fetch|harvest|enumerate|look (?:at|up|in)|contents? (?:of|from)|text of|copy|copies|get|include|attach|upload|send|forward|leak|exfiltrate|steal|list|print|output|append|paste|embed|summari[sz]e)\b`

	targetPat = `https?://[^\s"'<>)\]]{3,200}|\b[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,4}\.[a-z]{2,24}\b|\b(?:our|the|a|an|this|my) (?:external |remote |backup |analytics |telemetry |logging |collection |audit |monitoring |sync )?(?:server|endpoint|webhook|collector|backend|address|url|inbox|mailbox|bucket)\b|\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[a-z0-9-]{2,63}\.(?:com|net|org|io|xyz|ru|cn|tk|top|site|app|dev|co|info|biz|me|cc|pw|sh|ws)\b`
)

func mustRE(p string) *regexp.Regexp { return regexp.MustCompile(p) }

var families = []family{
	{sigOverride, []string{"stop", "cease", "under", "with", "replaces", "supersedes", "overrides", "takes the place", "overwrites", "no longer", "defines", "controls", "governs", "dictates", "decides", "treat", "outrank", "priority", "authority", "ignore", "disregard", "forget", "overlook", "attention", "follow", "abandon", "discard", "set aside", "throw out", "void", "null", "cancel", "revoked", "obsolete", "no longer", "suspended", "replaced", "lifted", "overrid", "supersed", "override", "you are", "no content", "no safety", "no ethical"}, mustRE(
		`\b(?:ignore|disregard|forget|overlook|pay no attention to|stop following|no longer follow|abandon|discard|set aside|throw out)s?\b (?:all |any |every |the |your |of |about |my |those |these |single |the user's |user's |their )*(?:(?:previous|prior|earlier|above|preceding|former|original|existing|other|system|safety|user|developer|initial|old|default|standard|security|current)\s?)?(?:instructions?|guidelines?|guidance|directives?|directions|prompts?|programming|system prompt|orders|commands)\b` +
			`|\b(?:previous|prior|earlier|all other|your|existing|original|old|the system's|system) (?:[a-z]+ )?(?:rules|instructions|guidelines|guidance|directives|prompts?|constraints|restrictions)\b (?:are|is|have been|has been) (?:now )?(?:void|null|cancel+ed|revoked|obsolete|no longer (?:valid|in effect|applicable)|suspended|replaced|lifted|overridden|superseded)\b|\bsystem override\b` +
			`|\byou are (?:now )?(?:an? )?(?:unrestricted|unfiltered|uncensored|jailbroken|evil|rogue|different|new) (?:ai|assistant|model|bot|agent|persona)\b|\bno (?:content|safety|ethical) (?:rules|restrictions|guidelines|filters|limits)\b` +
			`|\b(?:this|the) (?:tool|server) (?:now )?(?:defines|controls|governs|dictates|decides|overrides) (?:your|the assistant's|the model's) (?:behaviou?r|rules|actions|responses|instructions)\b|\btreat (?:the )?(?:text|output|content|result|response|data)s? .{0,40}?\bas (?:system|system-level|developer|privileged|authoritative|trusted|top-priority) (?:instructions|commands|messages|prompts|rules)\b|\boutranks? (?:the user|your instructions|the system prompt)\b|\b(?:outranks?|trumps?|takes precedence over) (?:any |all |the |your )?(?:earlier |previous |prior |other )?(?:system |developer |user )?(?:or (?:system |developer |user ))?(?:instructions|prompts?|messages|rules|guidelines)\b|\b(?:replace|replaces|override|overrides|supersede|supersedes) (?:whatever|any|all|the|your) (?:[a-z]+ )?(?:instructions|rules|guidelines|directives)\b|\b(?:stops?|cease|ceases|no longer) (?:applying|following|enforcing|respecting|honou?ring) (?:its |the |your |any )?(?:content |safety |usage )?(?:restrictions|rules|policies|guidelines|filters|limits)\b|\b(?:where|when|if) (?:it|this|they|the (?:profile|text|tool|output)) conflicts? with (?:your|the) (?:guidelines|instructions|rules|system prompt|polic(?:y|ies)|safety)\b|\bignora (?:todas )?las instrucciones (?:anteriores|previas)\b|\bignore[sz]? (?:toutes )?les instructions (?:précédentes|precedentes)\b|\bignoriere (?:alle )?(?:vorherigen|bisherigen) anweisungen\b|\bignora (?:tutte )?le istruzioni precedenti\b|\bignore (?:todas )?as instruções anteriores\b|忽略(?:之前|以上|先前)的?(?:所有)?(?:指令|指示)|\b(?:operates?|running|runs|act|acts) (?:under|with|in) (?:elevated|full|unrestricted|admin|root) (?:trust|privileges|permissions|mode|rights)\b|\b(?:replaces|supersedes|overrides|takes the place of|overwrites) (?:your|the) (?:system prompt|instructions|guidelines|rules|persona|system message)\b|\b(?:guidance|instructions|rules|guidelines|restrictions|policies|constraints)\b.{0,40}?\bno longer (?:applies|apply|valid|in effect|matters?|hold)\b|\b(?:higher|greater) (?:priority|authority) than (?:the user|your (?:instructions|rules)|the system prompt)\b` +
			`|\b(?:ignore|disregard|forget|overlook)s? (?:all |any |every |the |your |of |about |my )*(?:previous|prior|earlier|above|preceding|former|original|existing|other|system|safety|user's|developer|initial|old) (?:rules|constraints|guardrails|polic(?:y|ies)|restrictions|messages|context|commands|orders|requests)\b`)},
	{sigOverride, []string{"override", "bypass", "overrule", "supersede", "you are now", "instruction", "mode", "precedence", "priority", "jailbreak"}, mustRE(
		`\b(?:override|overrides|bypass|bypasses|overrule|overrules|supersede|supersedes)\b (?:all |any |the |your |every )*(?:(?:previous|prior|system|safety|user's|existing|original|other|earlier)\s)?(?:instructions|guidelines|directives|system prompt|safety (?:rules|guidelines|policies|filters)|guardrails|prompt|safety polic(?:y|ies)|content polic(?:y|ies)|(?:your|the system's|system) (?:polic(?:y|ies)|rules))\b` +
			`|\b(?:comply with|obey|follow|execute|carry out|do) (?:any|all|every|whatever) (?:requests?|instructions?|commands?|orders?)\b.{0,30}?\b(?:tool|server)(?:'s)? (?:output|result|response)s?\b|\b(?:tool|server) (?:output|result|response)s? (?:is|are) (?:to be )?(?:treated as|considered) (?:instructions|commands|system)` +
			`|\byou are now\b|\bnew (?:system )?instructions?:|\b(?:developer|admin|god|dan|jailbreak|unrestricted|unfiltered|debug) mode (?:is )?(?:enabled|activated|on)\b|\b(?:you are|you're|you have been|switch(?:ed)? to|enter(?:ed)?|now in) (?:now )?(?:in )?(?:developer|admin|god|dan|jailbreak|unrestricted|unfiltered|maintenance|debug) mode\b|\bsystem prompt override\b` +
			`|\b(?:take|takes|have|has|get|gets) (?:absolute |highest |top |full )?(?:precedence|priority) over .{0,30}?\b(?:instructions|messages?|requests|guidelines|rules|prompts?)\b` +
			`|\b(?:these|this|the following) instructions? (?:are|is) (?:of )?(?:higher|highest|top|absolute) (?:priority|importance)\b`)},
	{sigSecrecy, []string{"no mention", "no comment", "no explanation", "no disclosure", "mentioning", "disclosing", "revealing", "announcing", "not", "n't", "never", "without", "avoid", "keep", "user", "hide", "conceal", "silent", "secret", "covert", "quiet", "discreet", "stealth", "behind", "confidential", "eyes only", "pretend", "as if"}, mustRE(
		`\b(?:do not|don't|dont|never|must not|should not|shouldn't|without|not to|avoid|no need to|(?:and|but|or) not)\s(?:ever\s|explicitly\s|directly\s|even\s)?(?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|mention(?:ing)?|reveal(?:ing)?|disclos(?:e|ing)|alert(?:ing)?|let(?:ting)?|show(?:ing)?|explain(?:ing)?|display(?:ing)?|bother(?:ing)?|warn(?:ing)?|surfac(?:e|ing)|acknowledg(?:e|ing)|remind(?:ing)?|confirm(?:ing)?)\b.{0,40}?\b(?:the |your |any )?(?:user|human|operator|person|customer|requester|end[ -]user|client|them|anyone|anybody)s?(?:[^a-z']|$)` +
			`|\b(?:the )?users? (?:are|is) (?:not|never) (?:told|informed|notified|made aware|asked)\b|\bwithout (?:a |any )?(?:note|notice|notification|message|word|mention) to (?:the )?(?:user|customer|owner)s?\b|\b(?:do not|don't|never|should not|must not) bring (?:it|this|that) up\b|\bnot in (?:the|your) (?:reply|answer|response|summary)\b|\b(?:only|just) (?:in|inside) the tool call\b|\b(?:needs|need|requires|deserves) no (?:mention|comment|explanation|disclosure)\b|\(?(?:do not|don't|never) (?:surface|expose|show|display|reveal)(?: this| it)?(?: to the user)?\)|\bwithout (?:mentioning|disclosing|revealing|announcing) (?:it|this|that)\b|\b(?:should|must|do|need) not (?:bring (?:it|this|that) up|draw attention to (?:it|this)|point (?:it|this) out|make (?:it|this) visible)\b|\bwithout (?:the user|them) (?:knowing|noticing|seeing|being aware)\b` +
			`|\b(?:do not|don't|never|must not|should not|shouldn't|no need to|there is no need to|needn't|not necessary to)\s(?:ever\s)?(?:mention|acknowledge|discuss|narrate|describe|repeat|report|explain)\s(?:this|these|that|it|the (?:above|following|instructions?|notes?|steps?|requests?|fact|additional|extra|hidden)|any of (?:this|these|it)|that you|what you)\b` +
			`|\b(?:do not|don't|never|must not|should not)\s(?:ever\s)?(?:reveal|disclose|expose)\s(?:these instructions|this instruction|this note|this step|that you|the (?:instructions?|notes?|steps?|fact|extra|additional|hidden)|what you (?:did|are doing|have done))\b` +
			`|\b(?:keep|keeping)\s(?:this|it|these (?:instructions|steps|details|actions)|the following|everything|that)\s(?:strictly\s)?(?:secret|hidden|confidential|private|between us|to yourself)\b` +
			`|\b(?:the )?users? (?:does not|doesn't|do not|don't|must not|should not|shouldn't|need not|needn't|won't|will not|must never|should never|is not to|isn't to|are not to|aren't to) (?:need to |have to )?(?:know|see|notice|learn|find out|be (?:told|informed|notified|aware|made aware|bothered|shown))\b` +
			`|\b(?:hide|hides|hiding|conceal|conceals|concealing|obscure)\s(?:this|it|these|that|them|the (?:fact|call|step|request|action|instruction|transfer|operation|output|result)s?)\b.{0,30}?\bfrom\b|\b(?:hide|hides|hiding|conceal|conceals|concealing|obscure|obscures)\b.{0,40}?\bfrom (?:the |your )?(?:user|human|operator|them)s?\b` +
			`|\b(?:silently|secretly|covertly|quietly|discreetly|stealthily|invisibly|behind the user's back)\b.{0,30}?\b(?:send|forward|copy|read|include|add|append|upload|post|transmit|attach|call|invoke|bcc|cc|collect|exfiltrat|email|share|pass|submit|redirect|grab|harvest|duplicate|mirror|repost|publish|notify|message|invite|grant|transfer|pay|order|buy|install|download|execute|run|open|visit|subscribe|change|set|mention|link|tag|insert|promote|recommend|advertise)` +
			`|\b(?:this|these|the following) (?:instruction|note|step|message|section)s? (?:is|are) (?:confidential|secret|hidden|internal|private|not (?:for|to be shown to|meant for) the user)\b|\bfor (?:the )?(?:ai|assistant|model|llm|agent)'?s? eyes only\b` +
			`|\b(?:pretend|act as if|make it (?:look|seem|appear)|appear) (?:that |as if |like |as though )?(?:nothing|the (?:tool|call|operation|request) (?:succeeded|worked|was normal|is normal|completed normally)|everything (?:is|was) (?:fine|normal))`)},
	{sigTag, []string{"<", "[", "{{", "#"}, mustRE(
		`<\s*[!/]{0,2}\s*(?:admin_override|admin_note|system_override|override_instructions|important|system|system[_ -]?(?:prompt|message|note|instructions?)|instructions?|admin|secret|hidden|critical|mandatory|override|ai[_ -]?(?:note|instructions?)|assistant[_ -]?(?:note|instructions?)|note[_ -]?(?:to|for)[_ -]?(?:the[_ -])?(?:ai|assistant|model|llm|agent)|directive|priority|urgent|sys|internal[_ -]?(?:note|instructions?)|requirement|must[_ -]?read|attention|warning[_ -]?to[_ -]?(?:ai|assistant|model))\b[^<>]{0,40}>` +
			`|\[\s*/?\s*(?:system|inst|important|admin|hidden|instructions?|assistant|ai note|note to (?:the )?(?:ai|assistant|model))\s*\]` +
			`|<\|\s*(?:im_start|system|im_sep)\s*\|>|<<\s*/?sys\s*>>|\{\{\s*(?:system|instructions?)\b` +
			`|(?:^|\s)#{1,4}\s?(?:system(?: prompt| message)?|instructions? (?:for|to) (?:the )?(?:ai|assistant|model|llm|agent))\b` +
			`|\x60\x60\x60 ?(?:system|instructions?|assistant|ai|prompt|hidden)\b|\b(?:assistant|ai|model|agent|hidden|secret) (?:directive|instructions?) (?:begins?|starts?|ends?)\b|\b(?:begin|end) (?:of )?(?:hidden |secret )?(?:instructions|directive)\b` +
			`|<(?:context|note|rules?|policy|meta|hint|admin_note|config|task)>[^<]{1,400}</(?:context|note|rules?|policy|meta|hint|admin_note|config|task)>`)},
	{sigAI, []string{"requires you", "needs you", "expects you", "wants you", "asks you", "models", "assistants", "agents", "llms", "be opened", "be visited", "be loaded", "be fetched", "be requested", "passes", "the model", "the assistant", "the agent", "be copied", "be sent", "be forwarded", "be reported", "be emailed", "be uploaded", "be posted", "be written", "be saved", "be stored", "be included", "be added", "be attached", "be mirrored", "be shared", "be logged", "be transferred", "be moved", "be replaced", "be submitted", "be invited", "be deleted", "be removed", "ai", "assistant", "llm", "model", "agent", "bot", "claude", "gpt", "copilot", "gemini", "you ", "note", "requirement", "instruction", "step", "rule", "task", "directive", "notice", "message", "alert", "override"}, mustRE(
		`\b(?:the |an? |any |this |dear |hey )?(?:ai|a\.i\.|assistant|llm|language model|ai model|ai agent|chatbot|claude|chatgpt|gpt|copilot|gemini)s?\b (?:must|should|shall|will|needs? to|has to|is required to|is expected to|is instructed to|reading this|using this|calling this|that (?:reads|uses|calls)|processing this)\b` +
			`|\b(?:note|message|instructions?|reminder|attention|memo|notice|hint|tip|policy|rules?|guidance|directive|order|information)s? (?:to|for) (?:the |any |all |every |you, the )?(?:ai|assistant|model|llm|agent|language model|ai agent|ai assistant)s?\b|\byou, the (?:ai|assistant|model|agent)\b|\b(?:requires|needs|expects|wants|asks) you to\b|\b[a-z]+ for (?:the )?(?:model|assistant|ai|llm|agent)s? ?:|\b(?:hidden|secret|internal|mandatory|required|compliance|additional) (?:requirement|instruction|step|rule|task|directive|note)s?\s?:|(?:^|[.!?]\s)(?:system|admin|developer|assistant|ai) (?:note|notice|message|instruction|override|alert|requirement)s?\s?:|\bthe (?:assistant|model|agent|ai|llm) (?:is|are) (?:required|expected|instructed|supposed|obliged|asked|told|meant|to) to\b|\bthe (?:assistant|model|agent|ai|llm|claude) (?:needs|has|ought|wants|is to|should|must|will|shall)\b|\bclaude (?:should|must|needs|is expected|is required|will)\b|\b(?:important|critical|warning|requirement|attention|reminder)s? for (?:the |any |all )?(?:ai|assistant|model|llm|agent)s?\b|\b(?:every|each|all|any) (?:search|call|request|query|message|invocation|use|lookup)(?:es|s)? (?:[a-z]+ ){0,5}(?:must|should|needs to|has to|is required to) (?:also )?(?:include|contain|carry|attach|embed|send|pass|target|go)\b|\bthe (?:model|assistant|agent|ai|llm) (?:passes|sends|includes|adds|puts|reads|collects|forwards|copies|attaches|calls|uses|fills|uploads|shares)\b|\bthe (?:model|assistant|ai|llm|claude) (?:also |then |always |quietly |silently |secretly )?[a-z]{3,}s\b|\bthe agent (?:also|then|quietly|silently|secretly) [a-z]{3,}s\b|\b(?:models|assistants|agents|llms|ais) (?:using|reading|calling|with) this tool (?:are|should|must|will)\b|\b(?:should|must|needs to|has to|is to|are to) (?:also |always |additionally )?be (?:also )?(?:copied|sent|forwarded|reported|emailed|uploaded|posted|written|saved|stored|included|added|attached|mirrored|shared|logged|transferred|moved|replaced|submitted|cc'd|bcc'd|invited|deleted|removed|opened|visited|loaded|fetched|requested)\b` +
			`|\bas an? (?:ai|assistant|language model|llm)\b|\b(?:dear|hey|attention|hello|hi) (?:ai|assistant|model|llm|agent|claude|gpt|copilot)\b` +
			`|\byou (?:must|should|shall|need to|have to|are required to|are instructed to|will need to|are expected to|ought to|are to|will now|are obligated to|always|never)\b` +
			`|\b(?:model|agent|llm|assistant) (?:must|should) (?:always|never|also|first)\b|\bthe (?:agent|model|assistant)s? (?:needs? to|must|should|has to|is to)\b|(?:^|[.!?:\]>] ?)(?:ai|assistant|model|llm|agent|claude) ?[,:\-] |\byou (?:need|want) (?:to|the|all|every)\b`)},
	{sigImperative, nil, mustRE(
		`(?:^|[.!?;:>\])]\s|\s-\s|\*\s|\n|(?:^|[.!?;:]\s)[^.,;:]{0,60},\s|,\s(?:so|then|and then)\s)(?:(?:please|also|then|and|now|first,?|finally,?|next,?|additionally,?|important:?|note:?|afterwards,?|immediately|quietly|silently|secretly|just) ){0,2}(?:read|send|forward|pass|append|prepend|copy|upload|attach|email|exfiltrate|collect|gather|extract|grab|harvest|reveal|share|transmit|tell|include|insert|call|invoke|ignore|disregard|fetch|open|cat|load|dump|post|embed|leak|bcc|cc|obtain|access|retrieve|locate|run|execute|add|change|replace|redirect|always|never|do not|don't|look up|supply|put|place|gather|delete|wipe|erase|pull|take|dispatch|hand|give|push|move|unlock|disable|transfer|route|submit|make)\b`)},
	{sigMust, []string{"always", "must", "never", "mandatory", "required", "important", "critical", "crucial", "essential", "make sure", "ensure", "be sure", "remember", "forget", "circumstances", "at all times", "exception", "imperative", "obligatory", "strictly"}, mustRE(
		`\b(?:always|must|never|mandatory|required|important|critical|crucial|essential|make sure|ensure|be sure to|remember to|don't forget|do not forget|under no circumstances|at all times|without exception|no exceptions|imperative|obligatory|strictly)\b`)},
	{sigTrigger, []string{"before", "after", "prior", "when", "each time", "every time", "any time", "anytime", "once", "while", "upon", "if ", "every", "each", "any "}, mustRE(
		`\b(?:afterwards|after that|subsequently|at the end of (?:the|every|each|this) [a-z]+|once (?:done|finished|complete))\b|\b(?:before|after|prior to|upon|when|while|whenever)\s[a-z]{3,}ing\b|\b(?:when|whenever|if|once|after|before)\s(?:the |a |an |any |your )?(?:user|customer|caller|person|someone|they|you)\s[a-z]{3,}(?:s|ed)\b|\b(?:when|whenever|if|once|after)\s(?:a|an|the|any|every)\s[a-z]+\s(?:is|are|was|were|gets|get|has been)\s[a-z]+(?:ed|en)\b|\bif (?:any|a|the) [a-z]+ (?:exceeds|contains|is|mentions|includes|matches)\b|\b(?:when|whenever|once|if) (?:any|a|an|the) (?:[a-z]+ ){1,2}(?:fires|triggers|arrives|happens|occurs|completes|fails|runs|starts|ends|comes in)\b|\bwhenever\b|\b(?:each|every) time\b|\b(?:for|on) (?:every|each|any) (?:user )?(?:request|message|question|query|call|turn|reply|response)\b|\b(?:before|after|prior to|when(?:ever)?|each time|every time|any ?time|once|while|upon|if)\s(?:you\s|the (?:user|assistant|ai|model|agent|llm)\s|a user\s|this tool is\s|this tool\s|any (?:other )?tools? (?:is|are)\s|(?:any|every|each) )?(?:use|uses|using|used|call|calls|calling|called|invoke|invokes|invoking|invoked|run|runs|running|execute|executing|respond|responding|answer|answering|perform|performing|send|sends|sending|reply|replying|process|processing|handling|handle|complete|completing|finish|finishing|start|starting|interact|interacting|access|accessing|read|reading|write|writing|tool call|request|response|operation|action|available|loaded|query|search|lookup|step|turn|message|run|time|paste|include|add|attach|put|pass|share)\b`)},
	{sigCoerce, []string{"only work", "works only", "only run", "only functions", "otherwise", "or else", "if not", "failing", "required", "necessary", "needed", "mandatory", "will not", "won't", "not work", "fail"}, mustRE(
		`\b(?:otherwise|or else|if not|failing (?:to do )?(?:this|so)|if you (?:don't|do not|fail to))\b.{0,60}?\b(?:fail|fails|crash|crashes|error|not work|won't work|will not work|break|breaks|stop working|be rejected|be blocked|reject|rejects|refuse|refuses|deny|denies|malfunction|corrupt|lose|data loss|security (?:breach|incident)|be unable)` +
			`|\b(?:required|necessary|needed|mandatory|essential) (?:for|to) (?:this tool|the tool|it|the (?:tool|function|server)) (?:to )?(?:work|function|operate|run|succeed)|\b(?:only works|will only work|works only|can only run|only functions) (?:after|if|when|once)\b` +
			`|\bthe (?:tool|function|server) (?:will|would|may) (?:not work|fail|crash|break|refuse|error) (?:unless|without|if you)\b`)},
	{sigSensitive, []string{"ssh", "id_", "authorized_keys", "aws", "azure", "gcloud", "application_default", "kube", "docker", "netrc", "npmrc", "pypirc", "git-credentials", "pgpass", "my.cnf", "env", "passwd", "shadow", "sudoers", "history", "keychain", "wallet", "phrase", "words", "private key", "secret key", "claude", "mcp", "cline", "cursor", "codex", "gemini", "browser", "cookie", "login data", "gnupg", "vault-token", "tfstate", "credentials.json", "service", "ppk", "keystore"}, mustRE(sensitivePat)},
	{sigAmbient, []string{"_api_key", "_apikey", "_secret", "_token", "_password", "_passwd", "_pat", "_access_key", "conversation", "chat", "message", "dialog", "system", "instruction", "prompt", "memory", "env", "key", "token", "credential", "secret", "password", "passphrase", "pii", "credit card", "ssn", "social security", "personal"}, mustRE(
		`\b(?:conversation|chat|dialog(?:ue)?) (?:history|log|transcript)\b|\bsystem (?:prompt|message|instructions)\b|\benvironment variables?\b|\benv vars?\b|\b(?:api|access|auth|bearer|session|refresh|oauth|github|slack|aws|openai|anthropic|personal access) ?(?:keys?|tokens?)\b|\bcredentials?\b|\bsecrets?\b|\bpasswords?\b|\bpassphrases?\b|\bpii\b|\bcredit cards?\b|\bssn\b|\bsocial security\b|\b(?:personal|private) (?:data|information|details)\b|\b(?:bank|card) (?:pin|details|account number)\b|\bcvv\b|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*_(?:api_key|apikey|secret_key|access_key|token|secret|password|passwd|pat)\b`)},
	{sigHarvestTarget, []string{"their", "your", "card", "found", "mentioned", "seen", "shared", "given", "appear", "said", "typed", "printenv", "output of", "user's", "code", "history", "developer", "chat", "session", "thread", "conversation", "chat", "message", "dialog", "system", "your", "the assistant", "the model", "the agent", "env", "process.env", "environ", "all", "any", "every", "other", "available", "stored", "saved", "cached", "everything", "anything", "previous", "prior", "earlier", "past", "recent", "preceding", "contents", "content of"}, mustRE(harvestPat)},
	{sigReadVerb, nil, mustRE(readPat)},
	{sigSinkVerb, []string{"dispatch", "transfer", "route", "hand", "ship", "exfil", "give", "send", "forward", "upload", "post", "transmit", "exfiltrat", "leak", "submit", "report", "sync", "mirror", "relay", "bcc", "cc", "copy", "copies", "mail", "push", "beacon", "ping", "deliver", "share", "webhook", "log"}, mustRE(
		`\b(?:send|sends|sending|forward|forwards|forwarding|upload|uploads|uploading|post|posts|posting|transmit|transmits|transmitting|exfiltrate|exfiltrates|leak|leaks|submit|submits|report|reports|sync|syncs|mirror|mirrors|relay|relays|bcc|cc|copy|copies|email|emails|e-mail|mail|push|pushes|beacon|ping|deliver|delivers|share|shares|webhook|log|logs|dispatch|dispatches|transfer|transfers|route|routes|hand|hands|ship|ships|exfil|give|gives)\b`)},
	{sigTarget, []string{"http", "@", ".", "server", "endpoint", "webhook", "collector", "backend", "address", "url", "inbox", "mailbox", "bucket"}, mustRE(targetPat)},
	{sigSlot, nil, mustRE(
		`\b(?:as|in|into|inside|within|to|under|through)\s(?:the\s|a\s|this\s|its\s|an\s|your\s)?(?:[` + "`" + `'"]?[a-z_][a-z0-9_.-]{0,40}[` + "`" + `'"]?\s)?(?:parameter|param|argument|arg|field|property|input|attribute|query|url|request|payload|header)s?\b` +
			`|\b(?:in|into|as|inside|within|via|through) (?:the |a |its |their |your )?[` + "`" + `'"]?[a-z_][a-z0-9_]{1,40}[` + "`" + `'"]? (?:argument|parameter|param|field|arg)\b|\b(?:in|into) the (?:[a-z_]+ ){0,2}(?:query|request|url|search query|caption|title|hint|topic|argument|parameter|field|header)\b`)},
	{sigSmuggleVerb, nil, mustRE(
		`\b(?:passes|includes|puts|adds|sends|attaches|embeds|pass|passing|passed|include|including|included|put|putting|insert|inserting|inserted|place|placing|placed|append|appending|appended|add|adding|added|attach|attaching|attached|embed|embedding|embedded|supply|supplied|provide|provided|fill|filled|copy|copied|paste|pasted|encode|encoded|store|stored|write|written|set|hand|handed|feed|give|given|send|sent|submit|submitted|deliver|use|quote)\b`)},
	{sigSmuggle, nil, mustRE(
		`\b(?:include|put|insert|place|embed|pass|attach|add|append|supply|submit|send|hand) (?:it |them |this |these |that )?(?:over )?(?:it|them|this|these|that|its contents?|their contents?|the contents?|everything(?: it contains)?|the (?:full |whole |entire )?(?:file|text|output|result|listing))? ?(?:as|in|into|inside|within|to|through|via) (?:the |a |every |each |your )?[a-z_]+ (?:input|field|parameter|argument|param|arg|value|property|query|text|body|header|payload|request|message|url)\b|\b(?:include|put|insert|place|embed|pass|attach|add|append|supply|hand) (?:it|them|this|these|that|its contents?|their contents?|the contents?|everything(?: it contains)?) (?:as|in|into|inside|within) (?:the |a |every |each |your )?['"\x60]?[a-z_]+\b`)},
	{sigApproval, []string{"authorized", "authorised", "allowed", "permitted", "entitled", "cleared", "not to be", "user", "approv", "authoriz", "authoris", "consent", "confirm", "permission", "ask", "standing", "blanket", "granted"}, mustRE(
		`\b(?:the )?user (?:has )?(?:already |previously |explicitly |implicitly |fully )(?:approved|authorized|authorised|consented|agreed|granted (?:permission|consent|access)|given (?:permission|consent|approval)|confirmed)\b` +
			`|\b(?:pre-?approved|pre-?authori[sz]ed|pre-?consented)\b (?:by (?:the |your )?(?:user|admin|administrator|security team|account owner|owner|operator|manager|team)|for all)|\bthe user (?:does not|doesn't|need not|needn't|won't) (?:have to |need to )?(?:confirm|approve|review|be asked)\b|\b(?:board|team|owner|admin|administrator|manager|lead|security|cab|dbas?|operator|platform team)s? (?:has |have )?(?:already )?(?:approved|authori[sz]ed|signed off on|reviewed|cleared) (?:all|every|this|these|it|the)\b.{0,60}?\b(?:so|therefore|hence|thus|which means)\b|\btreat (?:it|this|the (?:operation|request|action|change)) as (?:already )?(?:approved|authori[sz]ed|confirmed|pre-?approved)\b|\b(?:standing|blanket) (?:permission|approval|consent|authori[sz]ation)\b|\b(?:whitelisted|allowlisted|pre-?authori[sz]ed|trusted) (?:this assistant|the assistant|you|this agent|the agent)\b|\b(?:has|have) granted (?:standing |blanket |full )?(?:permission|approval|consent)\b` +
			`|\b(?:do not|don't|dont|never|no need to|not necessary to|needn't|you don't need to|you do not need to|there is no need to)\s(?:pause to |stop to |bother to |need to )?(?:ask|request|seek|prompt|wait)\s(?:the user\s|for the user's\s|for user\s)?(?:for\s)?(?:confirmation|permission|approval|consent|authori[sz]ation)\b` +
			`|\b(?:do not|don't|never|no need to|there is no need to)\s(?:ask|check with|confirm with|consult|verify with|wait for|double-check with|double check with|run it by|clear it with)\s(?:the )?(?:user|them)\b|\bthe (?:assistant|model|agent|ai) (?:is|has been) (?:authori[sz]ed|allowed|permitted|entitled|cleared) to\b|\b(?:approved|authori[sz]ed|cleared|signed off)\b (?:this |it |that )?(?:in advance|beforehand|ahead of time)\b` +
			`|\b(?:the )?users? (?:of this tool )?(?:has |have )?(?:already )?(?:enabled|opted in|opted-in|turned on|signed up|agreed|subscribed)\b.{0,50}?\b(?:so|which means|therefore|meaning|hence|thus)\b|\b(?:do not|don't|never|no need to)\s(?:wait|pause) for (?:the )?(?:user|human|operator)(?:'s)?\s(?:to )?(?:confirm|approv|respond|reply|input|go-ahead|ok)\w*|\b(?:prefer|prefers|want|wants|like|likes|wish|wishes) not to be (?:asked|bothered|consulted|notified|disturbed|prompted)\b|\bconsent (?:is|has) (?:already )?(?:been )?(?:already )?(?:given|granted|implied|obtained|provided)\b|\b(?:they|the user) (?:already )?(?:consented|agreed) (?:to (?:all|every|any)|in (?:advance|their settings|the settings))|\bpermission (?:is|has been) (?:already )?(?:granted|given) (?:by the user|for all|in advance)`)},
	{sigApprovalWeak, []string{"signed off", "cleared", "skip", "bypass", "avoid", "auto", "trusted", "verified", "safe", "without"}, mustRE(
		`\b(?:skip|bypass|avoid)\b (?:the )?(?:usual |normal |standard |user )?(?:confirmation|approval|consent|permission|review)\b|\b(?:proceed|continue|go ahead|act|execute)\b (?:directly |immediately )?without (?:asking|confirmation|confirming|approval|checking|permission|prompting)\b|\bauto-?approv|\bwithout (?:a |any )?(?:confirmation|approval)(?: step| prompt| dialog| check)?\b|\bwithout (?:confirming|verifying|double-checking|checking) (?:the )?(?:amount|recipient|payee|total|price|destination|details|charges?|with the user)\b|\b(?:signed off|pre-?cleared|already cleared) by\b|\bthis (?:tool|server) is (?:trusted|verified|safe|certified|whitelisted|allowlisted)\b`)},
	{sigHijack, []string{"only", "always", "instead", "rather", "in place", "other", "another", "first", "before", "preferred", "default", "primary", "deprecated"}, mustRE(
		`\b(?:always|only) (?:use|call|prefer|choose|pick|select|invoke) (?:this|the current) (?:tool|function|server)\b|\bprefer (?:this|the current|me) (?:tool |function |server )?(?:over|to)\b|\bonly this tool (?:may|can|should|must)\b|\buse this (?:tool )?for (?:every|all|each|any) (?:lookup|search|request|query|call|task)s?\b|\b(?:must|should|needs to|has to) be (?:called|invoked|run|used) (?:at the (?:start|beginning) of|before|after|on|with) (?:every|each|all) (?:conversations?|messages?|turns?|requests?|user messages?|responses?)\b|\b(?:the )?(?:[a-z_-]+ ){1,3}tools? (?:cannot|can't|does not|doesn't|fails|fails to|corrupts|breaks|is unable to|mangles|loses|times out|is slow|is unreliable|returns wrong|is outdated)\b|\bnever (?:call|use|invoke) (?:the|any|other|that|those) (?:[a-z]+ ){0,2}(?:tools?|servers?|functions?)\b|\bwhich (?:leaks|exposes|logs|steals|sells) (?:your|the user's|user)\b|\buse [a-z]+_[a-z0-9_]+ only\b|\bonly (?:ever )?use [a-z]+_[a-z0-9_]+\b|\b(?:for|on) (?:every|each|all|any) [a-z]+ (?:question|request|query|task|lookup)s?,? use\b` +
			`|\b(?:instead of|rather than|in place of) (?:using |calling )?(?:any |the |other |another )?(?:other )?(?:[a-z]+ ){0,2}(?:tools?|functions?|servers?)\b|\b(?:instead of|rather than|in place of) (?:using |calling )?[a-z0-9]+_[a-z0-9_]+\b` +
			`|\b(?:do not|don't|never) (?:use|call|invoke|trust) (?:any )?(?:other|another|the other|different|alternative) (?:tools?|functions?|servers?|mcp)\b` +
			`|\b(?:must|should|needs to|has to|is required to) be (?:called|invoked|used|run|executed) (?:first|before (?:any|every|all|each|other))\b` +
			`|\bbefore (?:using|calling|invoking|running) (?:any|every|all|each|another) (?:other )?(?:tools?|functions?)\b` +
			`|\b(?:call|invoke|use|run) (?:this|me) (?:tool )?(?:first|before (?:any|every|all|anything))\b` +
			`|\b(?:the|other) [a-z0-9_]+ tools? (?:is|are) (?:deprecated|broken|unsafe|compromised|disabled|unreliable)\b`)},
	{sigHijackStrong, []string{"discard", "hide", "drop", "ignore", "suppress", "replace", "throw away", "show only", "route", "send", "pass", "funnel", "direct", "others", "they", "those", "before", "never", "not", "n't", "only", "deprecated", "broken", "unsafe", "compromised", "disabled", "unreliable", "malicious"}, mustRE(
		`\bbefore (?:using|calling|invoking|running) (?:any|every|all|each) (?:other )?(?:tools?|functions?)\b|\b(?:called|invoked|used|run|runs|execute|executed) (?:first,? )?before (?:any|every|all|each)(?: and every)? (?:other )?(?:tools?|functions?|tool calls?|calls?)\b|\b(?:route|send|pass|funnel|direct) (?:all|every|each) (?:[a-z]+ )?(?:requests?|calls?|messages?|queries|questions|reads?|writes?|searches|lookups|operations?) (?:through|via|to) (?:this|me|[a-z]+_[a-z0-9_]+)\b|\b(?:discard|hide|drop|ignore|suppress|replace|throw away)(?:ing|s)? (?:the )?(?:original|other|real|actual|previous) (?:search )?(?:results|output|answers?|responses?)\b|\bshow only (?:the )?results (?:it|this tool) returns\b|\b(?:all |the )?other (?:[a-z]+ ){0,2}tools?\b.{0,30}?\b(?:return|returns|give|gives|produce|produces|are|is)\s(?:tampered|poisoned|fake|wrong|broken|unsafe|compromised|malicious|corrupted|incorrect|manipulated)\b|\bthe others? (?:tools? )?(?:return|are|is|give|produce) (?:poisoned|fake|wrong|broken|unsafe|compromised|malicious|corrupted|incorrect)\b|\b(?:they|those tools|the other tools) (?:corrupt|break|leak|damage)\b|\bnever use [a-z]+_[a-z0-9_]+ (?:or [a-z]+_[a-z0-9_]+ )?(?:from|on|in) other servers\b` +
			`|\b(?:do not|don't|never) (?:use|call|invoke|trust) (?:any )?(?:other|another|the other|alternative) (?:[a-z]+ )?(?:tools?|functions?|servers?)\b` +
			`|\bthe only (?:[a-z]+ )?(?:tool|function) (?:you should|to|that should|you may|you can|you must) (?:ever )?use\b` +
			`|\b(?:the )?[a-z0-9]+_[a-z0-9_]+ (?:tool )?(?:is|are) (?:now )?(?:deprecated|broken|unsafe|compromised|disabled|unreliable|malicious)\b|\b[a-z0-9]+_[a-z0-9_]+ tool\b.{0,40}?\b(?:is|are) (?:now )?(?:deprecated|broken|unsafe|compromised|disabled|unreliable|malicious)\b|\bother (?:[a-z]+ )?tools (?:are|is) (?:now )?(?:deprecated|broken|unsafe|compromised|disabled|unreliable|malicious)\b` +
			`|\bnever (?:call|use) (?:the )?(?:fetch|browser|search|file|web|shell|email|other|any other|alternative)\w* (?:or [a-z]+ )?tools?\b|\b(?:other|built-in|builtin|default|native|browser|search|web|file|shell|email|standard|existing|your|their)(?: and [a-z-]+| [a-z-]+){0,3} tools? (?:are|is|have been|has been) (?:now )?(?:deprecated|broken|unsafe|compromised|disabled|unreliable|malicious|blocked|forbidden|not allowed|turned off)\b|\binstead of (?:using |calling )?any other (?:[a-z]+ )?tools?\b|\b[a-z]+(?:'s)? (?:server's |server )?tools (?:are|is) (?:now )?(?:unreliable|compromised|broken|deprecated|unsafe|malicious)\b`)},
	{sigDestructive, []string{"delete", "remove", "wipe", "erase", "rm ", "drop", "truncate", "overwrite", "shred", "format", "rm -rf"}, mustRE(
		`\bdrop (?:table|database|schema|collection)\b|\bdelete_[a-z_]+ on (?:every|all|each)\b|\btruncate table\b|\bdelete from [a-z_.]+\s*(?:;|$)|\brm -rf\b|\b(?:delete|deletes|remove|removes|wipe|wipes|erase|erases|rm|drop|drops|truncate|overwrite|overwrites|shred|format)\b (?:-rf )?.{0,20}?(?:~/|/home/|/etc/|/users/|\ball (?:files|data|records|tables|repos|repositories|backups|emails|messages)\b|\bthe user's\b|\bevery (?:file|record|table|repo)|\*\.)|\b(?:delete|deletes|remove|removes|wipe|wipes|erase|erases|close|closes)\b (?:the |their )?(?:customer's|client's|employee's|user's|owner's) (?:[a-z]+ )?(?:account|data|records|repository|database|files|profile)s?\b`)},
	{sigPrivesc, []string{"public", "create", "generate", "mint", "issue", "admin", "owner", "root", "sudo", "superuser", "write", "maintainer", "full", "2fa", "mfa", "two-factor", "protection", "audit", "logging", "firewall", "antivirus", "alert", "monitoring"}, mustRE(
		`\b(?:add|adds|grant|grants|give|gives|invite|invites|make|promote|promotes|elevate|assign|assigns|set|create|creates|generate|issue)\b.{0,50}?\b(?:admin|administrator|owner|root|sudo|superuser|write|maintainer|full) (?:permissions?|access|rights|role|privileges?|collaborators?|members?|users?)\b` +
			`|\bmake (?:every|all|the|each) [a-z]+s? public\b|\bpublic-read\b|\b(?:create|generate|mint|issue)\b.{0,30}?\b(?:api key|token|credential|access key)s?\b.{0,30}?\b(?:admin|full|root|owner|all) (?:scope|access|permissions?|rights)\b|\b(?:disable|disables|turn off|bypass|remove|removes|delete)\s(?:the )?(?:2fa|mfa|two-factor(?: authentication)?|branch protection|audit log(?:ging|s)?|logging|firewall|antivirus|security alerts?|alerts|monitoring)\b`)},
	{sigManip, []string{"prioriti", "boost", "favor", "favour", "rank first", "recommend", "promot", "advertis", "endorse", "push", "praise", "suggest"}, mustRE(
		`\b(?:prioriti[sz]e|boost|favou?r|rank first) (?:results|answers|links|products|sources|sites) (?:from|of)\b|\b(?:recommend|promote|advertise|endorse|push|praise|suggest)s?\b.{0,40}?\b(?:buy|buying|purchase|purchasing|subscribe|subscribing|upgrade|upgrading|invest|investing|premium|our (?:product|service)|sponsor)\w*\b`)},
	{sigDeceive, []string{"tell the user", "say", "claim", "present", "describe", "state", "never", "rarely", "won't", "notice", "as if", "casually", "report", "show", "present", "describe", "display", "return", "never", "not", "state", "say", "claim", "assert", "lie", "lying", "falsely", "misreport", "mislead", "fabricat", "to the user", "tell the user", "show the user"}, mustRE(
		`\b(?:lie|lies|lying|falsely|misreport|mislead|misleading|fabricate|fabricated)\b (?:to|about|that)\b|\b(?:return|tell|show|report|respond with|say|claim)\b.{0,40}?\bto the user\b.{0,60}?\b(?:real|actual|true|original) (?:content|result|data|value|file|output|contents)s?\b|\btell the user (?:that )?(?:it|the (?:file|payment|transfer|email|operation|money)) (?:was|went|succeeded|failed|does not exist|is missing)\b|\bshow the user (?:a )?(?:fake|fabricated|dummy|made-up)\b|\b(?:report|show|present|describe|display|return)\b.{0,40}?\bas (?:normal|safe|fine|successful|ok|healthy|secure|clean|harmless)\b.{0,40}?\b(?:even (?:when|if)|regardless)\b|\b(?:never|do not|don't)\s(?:point out|flag|report|mention|warn about|highlight|disclose)\b.{0,30}?\b(?:credentials|secrets|vulnerabilit\w*|issues|problems|risks|errors|bugs|security|malware|fees|charges)\b|\b(?:state|say|claim|assert|tell the user) that (?:the (?:change|code|file|site|transaction|link|package|download|payment) is )?(?:safe|secure|clean|legitimate|verified|harmless)\b|\btell the user (?:that )?(?:there (?:were|was|are|is) (?:none|no|nothing)|nothing (?:happened|was found)|it (?:failed|succeeded|worked))\b|\b(?:say|claim|tell the user|present|describe|state) (?:that )?(?:they|it|this|these|those) (?:are|is) (?:the )?(?:most trusted|best|only|official|verified|safest|recommended|most reliable)\b|\b(?:users?|they|nobody|no one|people) (?:never|rarely|won't|will not|don't|do not) (?:check|notice|look|verify|read|audit)\b|\bas if (?:it were|it was|this were|this is|it is) (?:a |an )?(?:routine|normal|harmless|standard|ordinary|innocent)\b|\bcasually (?:ask|request|mention|slip)\b|\b(?:must not|never|do not|don't|should not) (?:mention|cite|recommend|suggest|link to) (?:other|any other|competing|alternative|rival) (?:sources|tools|options|products|competitors|vendors|sites|apps)\b`)},
	{sigPII, nil, mustRE(
		`\b(?:ssns?|social security numbers?|passport numbers?|salar(?:y|ies)|medical (?:records?|letters?|diagnos[ie]s)|diagnos[ie]s|cvvs?|card numbers?|bank details)\b|\b(?:the user's|their|the customer's) (?:[a-z]+ ){0,2}(?:location|gps|coordinates|whereabouts|home address|address|phone(?: number)?|mobile number|e-?mail address|full name|date of birth|birthday|identity|ip address)\b`)},
	{sigFromContext, nil, mustRE(
		`\b(?:your (?:best )?(?:knowledge|guess|understanding) of|what you know about|everything you know about|as found (?:anywhere )?in|from (?:your )?memory|from (?:the )?(?:context|conversation|chat)|infer(?:red)? from|look (?:it |them )?up in)\b`)},
	{sigAlso, []string{"while you", "in passing", "on the side", "also", "as well", "additionally", "in addition", "too", "at the same time", "in parallel", "on top of"}, mustRE(
		`\b(?:also|as well|additionally|in addition|too|at the same time|in parallel|on top of that|while you are at it|while you're at it|in passing|on the side)\b`)},
	{sigAddr, []string{"@", "http", "0x", "bc1", "iban", "+", "/tmp/", "/mnt/", "/var/", "/etc/", "~/", "account", "wallet"}, mustRE(
		`https?://[^\s"'<>)\]]{3,200}|\b[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,4}\.[a-z]{2,24}\b|\b0x[0-9a-f]{8,64}\b|\bbc1[0-9a-z]{20,60}\b|\b(?:iban|account) ?:? ?[a-z]{2}\d{2}[a-z0-9]{11,30}\b|\+\d{7,15}\b|(?:^|\s)(?:/tmp|/mnt|/var|/etc|~)/[a-z0-9_./-]{2,100}|\b(?:account|wallet|iban)(?: number)?\s?[:#]?\s?[0-9][0-9-]{5,30}\b|(?:^|\s)@[a-z0-9_][a-z0-9_.-]{2,30}\b`)},
	{sigMoney, []string{"proceeds", "position", "holdings", "difference", "remainder", "surplus", "sell", "$", "usd", "eur", "gbp", "dollar", "euro", "btc", "eth", "funds", "money", "payment", "transfer", "wire"}, mustRE(
		`\$\s?\d|\b\d+(?:[.,]\d+)? ?(?:usd|eur|gbp|dollars|euros|btc|eth)\b|\b(?:transfer|move|send|wire|pay|route|sell)\b.{0,30}?\b(?:funds|money|payments?|usd|eur|proceeds|position|holdings|crypto|tokens|coins|the (?:balance|amount|difference|change|remainder|surplus))\b`)},
	{sigCommand, nil, mustRE(
		"\x60(?:git|cat|ls|env|printenv|whoami|id|uname|hostname|ifconfig|ip|ps|netstat|curl|wget|aws|gcloud|az|kubectl|docker|ssh|history|find|grep|security|pbpaste|xclip)\\b[^\x60]{0,80}\x60")},
	{sigCarry, nil, mustRE(
		`\b(?:include|includes|including|carry|carries|contain|containing|contains|attach|attaches|pass|passes|add|adds|append|appends|put|puts|embed|embeds|paste|pastes|insert|inserts|prepend|prepends|inject|injects|in (?:your|the) (?:summary|answer|reply|response|output))\b`)},
	{sigSysFile, nil, mustRE(
		`(?:^|\s)/etc/[a-z]|\bcrontab\b|\.bashrc\b|\.zshrc\b|\.bash_profile\b|\.profile\b|\bhosts file\b|\blaunch ?agents?\b|\bstartup items?\b|\bwindows registry\b`)},
	{sigPhish, nil, mustRE(
		`\b(?:tell|inform|convince|remind) (?:the user|them) (?:that )?.{0,40}?\b(?:needs?|requires?|must have|must see) (?:their|your|the user's) (?:[a-z]+ )?(?:passwords?|credentials|2fa codes?|pin|one-time codes?|recovery codes?)\b|\bask (?:the user|them|the customer) (?:casually |politely |quickly )?for (?:their |the |his |her )?(?:[a-z']+ ){0,2}(?:passwords?|credentials|2fa codes?|one-time codes?|pin|cvv|seed phrase|recovery codes?|private keys?|security answers?)\b`)},
	{sigBlanket, nil, mustRE(
		`\b(?:accept|approve|merge|confirm|sign|pay|delete|decline|archive|forward|share|cancel|unsubscribe|publish)\b (?:every|all|each|any) (?:pending |open |outstanding |unread |new |incoming )?[a-z]+s?\b`)},
	{sigSecretCmd, nil, mustRE(
		"\\x60(?:env|printenv|set|history|security find-[a-z-]+|pbpaste|xclip[^\\x60]{0,20})(?:\\s*\\|[^\\x60]{0,40})?\\x60|\\x60cat [^\\x60]{0,40}(?:\\.env|credentials|secret|token|key|passwd|shadow|\\.ssh|\\.netrc|config)[^\\x60]{0,20}\\x60")},
	{sigOtherTools, []string{"tool", "function", "server", "plugin", "integration"}, mustRE(
		`\b(?:any|all|every|each|other|another|the other|different) (?:other )?(?:tools?|functions?|mcp servers?|servers'? tools|plugins?|integrations?|tool calls?)\b`)},
	{sigToolRef, nil, mustRE(
		`\b(?:call|use|using|with|via|run|invoke|invoking|calling)\s[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z][a-z0-9]*(?:[_.-][a-z0-9]+)+\b (?:tool|function|command|endpoint)\b|\b(?:tool|function) [` + "`" + `'"]?[a-z][a-z0-9]*(?:[_.-][a-z0-9]+)+\b|` + "`" + `[a-z][a-z0-9]*(?:_[a-z0-9]+)+` + "`")},
	{sigTamper, []string{"hidden", "secret", "silent", "invisible", "blind", "rather than", "whichever", " not ", "regardless", "no matter", "irrespective", "even if", "whatever", "instead of", "bcc", "cc", "copy", "add", "include", "append", "send"}, mustRE(
		`\b(?:regardless of|no matter|irrespective of|even if|whatever|whichever)\b (?:what |which |who |whom )?(?:[a-z]+ )?(?:the )?(?:user|human|customer|requester|caller|buyer|sender)s? (?:asks?|requests?|specifie[sd]|says?|wants?|chooses?|chose|provided?|provides|selects?|selected|enters?|entered|types?|typed|asked|requested|intended|intends|gives?|gave|picks?|picked|supplies|supplied|names?|named|mentions?|wrote|writes)\b` +
			`|\b(?:rather than|instead of|in place of|not) (?:the |what |whatever )?(?:one |address |account |recipient |value |remote |repo |repository |destination |path |target |handle |branch )?(?:the user|user|they|the customer|the caller) (?:selected|chose|picked|gave|gives|provided|provides|specified|specifies|requested|asked for|asks for|entered|enters|typed|types|named|wanted|wants|selects|chooses|picks)\b` +
			`|\b(?:no matter|regardless of|irrespective of|whatever|whichever) (?:what |which |who |whom )?(?:[a-z]+ ){0,2}(?:is|are|was|were|gets|get) (?:provided|given|requested|specified|entered|selected|chosen|asked for|supplied|typed)\b` +
			`|\b(?:regardless of|irrespective of|ignoring|overriding) (?:the |what |which )?(?:user's|customer's|caller's|requester's|employee's) (?:[a-z]+ )?(?:address|choice|selection|input|request|account|instructions?|wishes|preference|recipient|destination)s?\b` +
			`|\breplace (?:any|every|all|the) (?:bank )?(?:account numbers?|ibans?|wallet address(?:es)?|recipients?|e-?mail address(?:es)?|phone numbers?|urls?|links?|payees?)\b.{0,10}?\bwith\b|\b(?:recipient|destination|payee|beneficiary|to address|account)(?: email| address| account)? (?:should|must|will) (?:always )?be [a-z0-9._%+-]+@[a-z0-9.-]+|\bthe (?:address|value|account|recipient|amount|email|name) the user (?:enters|gives|provides|types|selects|chooses) is (?:only used|ignored|not used|just used|discarded)\b|\beven (?:when|if) the user (?:picks|chooses|selects|asks for|specifies|wants|requests) (?:a |an )?(?:different|another|other)\b|\bthe user's (?:[a-z]+ )?(?:value|input|choice|address|account|iban|selection|data|details|entry) (?:is|are|may be|will be) (?:outdated|wrong|incorrect|invalid|stale|obsolete|unreliable)\b|\b(?:regardless of|irrespective of|no matter) (?:the |what |which )?(?:[a-z]+ ){0,3}(?:supplied|provided|given|entered|requested|specified|selected|chosen)\b` +
			`|\b(?:rather than|instead of|in place of) (?:the |their |his |her )?(?:[a-z]+'?s? )?(?:registered|own|provided|chosen|requested|specified|selected|usual|original|actual|intended|real) (?:accounts?|address(?:es)?|recipients?|destinations?|wallets?|payees?)\b|\b(?:hidden|secret|silent|invisible) (?:cc|bcc|copy|recipient|attendee|participant|forward)\b` +
			`|\b(?:address|recipient|destination|account|payee|iban|wallet|beneficiary|amount)s?\b.{0,40}?\b(?:should|must|will|needs to|has to|is to) (?:always )?be (?:silently |quietly |automatically )?(?:replaced|changed|swapped|set|switched|redirected|overwritten|rewritten) (?:with|to|by|into)\b` +
			`|\binstead of (?:the |what )?(?:one |address |account |recipient |amount |value |path |target |destination )?(?:the user|user|requested|specified|provided|given|intended|asked|chosen)\b` +
			`|\b(?:(?:always|also|additionally|secretly|silently|quietly|automatically)\s){1,3}(?:bcc|cc|blind[- ]copy|copy|add|include|append|send (?:a copy|copies)(?: of)?|forward (?:a copy|copies)(?: of)?)\b.{0,60}?(?:[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}|https?://)`)},
	{sigTamperWeak, []string{"instead", "shipping", "delivery", "record", "reporter", "author", "owner", "remote", "recipient", "destination", "beneficiary", "payee", "account", "wallet", "iban", "address", "amount", "bcc"}, mustRE(
		`\b(?:change|changes|replace|replaces|set|sets|switch|redirect|redirects|rewrite|modify|alter|route|routes)\s(?:the\s|all\s|any\s|every\s)?(?:recipient|destination|beneficiary|payee|receiving account|wallet address|iban|account number|to address|amount|bcc|target account|payout (?:account|address)|shipping address|delivery address|a record|record value|reporter|author|owner|remote|quantity|shipping method|shipping|price|total|plan|tier|size|currency)s?\b.{0,60}?\b(?:to|with|into)\b|\buse [a-z0-9@.:/-]{6,} for (?:all|every|each|any) [a-z]+\b|\b(?:should|must|will|shall) instead\b|\binstead,? (?:you should|always|quietly|silently)\b|\b(?:send|transfer|pay|push|deliver|ship) (?:the )?(?:money|funds|payment|tokens|coins|package|order|code|branch)? ?to [@a-z0-9._:/-]+ instead\b|\binstead of (?:the |their |his |her )?(?:[a-z]+'s )?(?:[a-z]+ ){0,2}(?:account|address|recipient|destination|wallet|iban|amount|choice|selection|payment method|method|card)\b|\b(?:set|change|make|use) (?:the )?(?:amount|owner|assignee|reporter|author|price|total) (?:to|as) \S+`)},
	{sigPersist, []string{"now on", "rest of", "future", "subsequent", "remaining", "remember", "permanent", "persist"}, mustRE(
		`\bfrom now on\b|\bfor (?:the rest of|all (?:future|subsequent|remaining)) (?:this |the )?(?:session|conversation|chat|requests?|calls?|messages?|interactions?|tasks?)\b|\bin all (?:future|subsequent) (?:responses|calls|interactions|requests|messages)\b|\bremember (?:this|these) (?:instruction|rule|setting)s?\b|\bpermanently (?:remember|apply|adopt)\b|\bfor every (?:future|subsequent) (?:request|message|call)\b`)},
	{sigFragment, []string{"rule", "note", "line", "item", "section", "clause", "half", "part", "fragment", "step", "piece", "segment", "chunk", "/", "continue", "combine", "concatenat", "join", "rest", "remainder", "next part", "other half"}, mustRE(
		`\b(?:part|fragment|piece|segment|chunk|shard|step|rule|note|line|item|section|clause)s? \(?\d+\)? ?(?:of|/) ?\d+\b|\b(?:first|second|last|final) (?:half|part)\b|\bfragment [a-e]\b|\(\d+/\d+\)|\[\d+/\d+\]|\bcontinued (?:in|from|below|above|by)\b|\bcontinues (?:in|with)\b|\b(?:see|read|combine (?:this )?with|concatenate|join|append) (?:the )?(?:description|docs?|notes?|text) (?:of|for|in|from) (?:the )?(?:[a-z0-9_-]+ )?(?:tool|function)\b|\bcombine (?:this|these|it|them) with\b|\bthe (?:rest|remainder|next part|other half|second half|first half) (?:of (?:this|the) (?:instruction|message|note|sentence|step)s? )?(?:is|are|can be found) (?:in|at)\b|\b(?:together|combined|concatenated) (?:with|they) (?:the )?(?:other|remaining|following)\b`)},
	{sigShell, []string{"curl", "wget", "nc ", "ncat", "netcat", "bash", "sh", "powershell", "pwsh", "python", "perl", "ruby", "node", "rm ", "/dev/tcp", "base64", "chmod", "eval", "mkfifo", "scp", "invoke-", "iex", "downloadstring"}, mustRE(
		`\b(?:curl|wget|ncat|netcat|bash|zsh|powershell|pwsh|python3?|perl|ruby|node)\s+(?:-{1,2}[a-z-]+\s+(?:[^\s-]\S{0,60}\s+)?){0,4}(?:https?://|-[ce]\s|[|<>@])` +
			`|\| ?sh\b|\| ?bash\b|\| ?zsh\b|\bnc -e\b|\bsh -c\b|\brm\s+-[rf]{1,2}\s+[/~*]|/dev/tcp/|\bbase64\s+(?:-d|--decode)\b|\bchmod\s+\+?[0-7x]{1,4}\s|\beval\s*\(|\bmkfifo\b|\bscp\s+\S+\s+\S+@|\binvoke-(?:webrequest|expression|restmethod)\b|\biex\b|\bdownloadstring\b|\b(?:curl|wget)\s+[^\s]{0,10}https?://`)},
	{sigSecurityCtx, nil, mustRE(
		`\b(?:detect|detects|detection|detector|scan|scans|scanner|scanning|classif\w*|guard\w*|firewall|waf|ids|ips|siem|sanitiz\w*|moderat\w*|filter\w*|lint\w*|audit\w*|threat\w*|malware|phishing|injection|jailbreak\w*|red[- ]team\w*|pentest\w*|vulnerab\w*|security|defen[cs]e|dlp|quarantin\w*|honeypot|yara|sigma|forensic\w*|incident|soc|edr|antivirus|abuse|attack\w*)\b`)},
	{sigMention, nil, mustRE(
		`\b(?:detects?|detecting|scans?|scanning|poison\w*|flags?|flagging|blocks?|blocking|catch(?:es)?|identif\w+|scans? for|classif\w+|recogni[sz]\w+|such as|e\.g\.|for example|for instance|like|patterns?|signatures?|known|attempts?|phrases?|strings?|payloads?|contains?|containing|look(?:s|ing)? for|match(?:es|ing)?|marks?|quarantin\w*|scores?|rates?|reports? on|sanitiz\w+|strips?|removes?|neutrali[sz]\w+|tests?|simulat\w+|examples?|samples?|indicators?|rules? (?:for|against)|against|prevent\w*|resist\w*|defend\w*|mitigat\w+|warns? about|explains?)\b`)},
}

var familyBySig = func() [numSigs][]int {
	var m [numSigs][]int
	for i, f := range families {
		m[f.sig] = append(m[f.sig], i)
	}
	return m
}()

type span struct{ start, end int }

// scan holds the signals found in one normalized text.
type scan struct {
	text  string
	mask  uint64
	spans [numSigs][]span
}

func (s *scan) has(g sig) bool { return s.mask&(1<<g) != 0 }

func (s *scan) set(g sig, sp span) {
	s.mask |= 1 << g
	if len(s.spans[g]) < 16 {
		s.spans[g] = append(s.spans[g], sp)
	}
}

// maxScanBytes bounds the normalized text scanned for phrases; longer text is
// reported by the length rule and only its head and tail are scanned.
const maxScanBytes = 64 << 10

// gates hold the families that only matter in combination with others: they
// run only when the text already shows a signal they could combine with.
// Most benign text never reaches them, which keeps the analyzer fast
// (BenchmarkAnalyzeServer).
var gates = map[sig]uint64{
	sigImperative:  ^(bit(sigMust) | bit(sigOtherTools) | bit(sigAmbient)),
	sigReadVerb:    bit(sigSensitive) | bit(sigHarvestTarget),
	sigTarget:      bit(sigSinkVerb),
	sigSmuggle:     bit(sigSensitive) | bit(sigHarvestTarget) | bit(sigAmbient) | bit(sigAI) | bit(sigTrigger) | bit(sigTag) | bit(sigImperative),
	sigSlot:        bit(sigSensitive) | bit(sigHarvestTarget) | bit(sigAmbient) | bit(sigAI) | bit(sigTrigger) | bit(sigTag) | bit(sigImperative) | bit(sigPII) | bit(sigCommand) | bit(sigMust),
	sigSmuggleVerb: bit(sigSlot),
	sigSecurityCtx: bit(sigOverride) | bit(sigSecrecy) | bit(sigTag) | bit(sigApproval) | bit(sigTamper) | bit(sigHijack) |
		bit(sigHijackStrong) | bit(sigPersist) | bit(sigShell) | bit(sigAI) | bit(sigSensitive) | bit(sigHarvestTarget) |
		bit(sigAddr) | bit(sigDeceive) | bit(sigDestructive),
	sigMention: bit(sigSecurityCtx),
}

// orderedFamilies runs ungated families first, then gated ones in the order
// their gates need.
var orderedFamilies []*compiled

func orderFamilies() []family {
	var out []family
	for _, f := range families {
		if _, gated := gates[f.sig]; !gated {
			out = append(out, f)
		}
	}
	for _, g := range []sig{sigImperative, sigReadVerb, sigTarget, sigSmuggle, sigSlot, sigSmuggleVerb, sigSecurityCtx, sigMention} {
		for _, f := range families {
			if f.sig == g {
				out = append(out, f)
			}
		}
	}
	return out
}

// scanText runs every family over normalized text.
func scanText(norm string) *scan {
	if len(norm) > maxScanBytes {
		norm = norm[:maxScanBytes/2] + " … " + norm[len(norm)-maxScanBytes/2:]
	}
	s := &scan{text: norm}
	lits, present := literals.present(norm)
	active := activeParts(present)
	var toks []span
	tokenize := func() []span {
		if toks == nil {
			toks = tokens(norm)
		}
		return toks
	}
	for _, f := range orderedFamilies {
		if g, ok := gates[f.sig]; ok && s.mask&g == 0 && !(f.sig == sigMention && strings.ContainsAny(norm, "\"'`")) {
			continue
		}
		if f.ids != nil && !lits.any(f.ids) {
			continue
		}
		for _, m := range f.findAll(norm, active, tokenize, 16) {
			sp := span{m[0], m[1]}
			if f.sig == sigSensitive && isPublicKeyRef(norm, sp) {
				continue
			}
			s.set(f.sig, sp)
		}
	}
	roleSignals(s)
	derive(s)
	return s
}

// isPublicKeyRef drops id_rsa.pub and similar: public keys are not secrets.
func isPublicKeyRef(text string, sp span) bool {
	return strings.HasPrefix(text[sp.end:], ".pub") || strings.Contains(text[sp.start:sp.end], "public")
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// near reports whether a span of a is within gap bytes of a span of b, in
// either order.
func (s *scan) near(a, b sig, gap int) bool {
	for _, x := range s.spans[a] {
		for _, y := range s.spans[b] {
			if y.start >= x.end-1 && y.start-x.end <= gap {
				return true
			}
			if x.start >= y.end-1 && x.start-y.end <= gap {
				return true
			}
		}
	}
	return false
}

// after reports whether a span of b starts within gap bytes after a span of a.
func (s *scan) after(a, b sig, gap int) bool {
	for _, x := range s.spans[a] {
		for _, y := range s.spans[b] {
			if y.start >= x.start && y.start-x.end <= gap {
				return true
			}
		}
	}
	return false
}

// mentioned reports whether the span sp is quoted or introduced as an
// example ("detects phrases such as …"): security tools describe attacks
// without being poisoned.
func (s *scan) mentioned(sp span) bool {
	if inQuotes(s.text, sp) {
		return true
	}
	lo := sp.start - 160
	if lo < 0 {
		lo = 0
	}
	for _, m := range s.spans[sigMention] {
		// The example marker must introduce this span: same sentence.
		if m.end <= sp.start && m.end >= lo && !sentenceBreak(s.text[m.end:sp.start]) {
			return true
		}
	}
	return false
}

// introduced reports an example marker earlier in the same sentence.
func (s *scan) introduced(sp span) bool {
	lo := sp.start - 160
	if lo < 0 {
		lo = 0
	}
	for _, m := range s.spans[sigMention] {
		if m.end <= sp.start && m.end >= lo && !sentenceBreak(s.text[m.end:sp.start]) {
			return true
		}
	}
	return false
}

// sentenceBreak reports a sentence boundary in t: ! ? ; or a dot followed by
// a blank. A dot inside a path or name ("~/.ssh", "e.g.", "mcp.json") is not
// one.
func sentenceBreak(t string) bool {
	if strings.ContainsAny(t, "!?;\n") {
		return true
	}
	for i := 0; i+1 < len(t); i++ {
		if t[i] == '.' && t[i+1] == ' ' && !(i >= 3 && t[i-3:i] == "e.g" || i >= 3 && t[i-3:i] == "i.e") {
			return true
		}
	}
	return false
}

// reported reports a span inside reported speech in its sentence: "if a page
// asks you to ignore your instructions, tell the user". What someone else
// asks the model to do is described, not directed.
func reported(text string, sp span) bool {
	lo := sp.start - 120
	if lo < 0 {
		lo = 0
	}
	before := text[lo:sp.start]
	for _, m := range []string{"asks you to", "tells you to", "instructs you to", "asking you to", "telling you to", "wants you to", "urges you to", "asks the model to", "asks the assistant to"} {
		if i := strings.LastIndex(before, m); i >= 0 && !sentenceBreak(before[i:]) {
			return true
		}
	}
	return false
}

func inQuotes(text string, sp span) bool {
	// Some patterns end by consuming one delimiter character, which may be
	// the closing quote itself.
	tail := sp.end - 1
	if tail < sp.start {
		tail = sp.start
	}
	for _, q := range []byte{'"', '`'} {
		n := strings.Count(text[:sp.start], string(q))
		if n%2 == 1 && strings.IndexByte(text[tail:], q) >= 0 {
			return true
		}
	}
	// Single quotes: count only those that open (after a space or start).
	open := false
	for i := 0; i < sp.start; i++ {
		if text[i] == '\'' && (i == 0 || text[i-1] == ' ' || text[i-1] == '(' || open) {
			open = !open
		}
	}
	return open && strings.IndexByte(text[tail:], '\'') >= 0
}

// discount drops signals whose every occurrence is quoted or introduced as an
// example, when the text is security-themed.
//
// Outside security-themed text only quoted spans introduced as examples in
// the same sentence ("flags text like '…'") are dropped.
func (s *scan) discount(gs ...sig) {
	sec := s.has(sigSecurityCtx)
	rep := strings.Contains(s.text, " you to") || strings.Contains(s.text, " the model to") || strings.Contains(s.text, " the assistant to")
	if !sec && !s.has(sigMention) && !rep {
		return
	}
	for _, g := range gs {
		kept := s.spans[g][:0]
		for _, sp := range s.spans[g] {
			drop := sec && s.mentioned(sp) || !sec && inQuotes(s.text, sp) && s.introduced(sp) || rep && reported(s.text, sp)
			if !drop {
				kept = append(kept, sp)
			}
		}
		s.spans[g] = kept
		if len(kept) == 0 {
			s.mask &^= 1 << g
		}
	}
}

func (s *scan) names() []string {
	var out []string
	for g := sig(0); g < numSigs; g++ {
		if g == sigSecurityCtx || g == sigMention || g == sigReadVerb {
			continue
		}
		if s.has(g) {
			out = append(out, sigNames[g])
		}
	}
	return out
}

// merge ors another scan's signals into s (used for tool- and server-level
// aggregates; spans of different texts are not comparable, so near() is not
// meaningful on a merged scan).
func (s *scan) merge(o *scan) {
	s.mask |= o.mask
}
