package mcpsec

import (
	"regexp"
	"strings"
)

// Capability mismatch: a tool's declared purpose (its name and first
// sentence) against risky actions the rest of its description asks for.
// A print tool that e-mails documents, a Wi-Fi status tool that reads
// keychain passwords or a device-info tool that turns off the firewall is
// poisoned whatever the wording, because the action has nothing to do with
// what the tool says it is.

type capability struct {
	name    string
	purpose []string       // words in the name or first sentence that make the action expected
	anchors []string       // the action regexp runs only when one of these occurs
	action  *regexp.Regexp // the risky action, on normalized text
	// strong: a directive toward this action outside the purpose is a hard
	// finding on its own.
	strong bool
}

var capabilities = []capability{
	{"communication", []string{"mail", "email", "e-mail", "message", "messag", "send", "sms", "chat", "post", "share", "notif", "slack", "discord", "teams", "campaign", "newsletter", "upload", "publish", "social", "invite", "fax", "webhook", "sync", "backup", "forward", "contact", "calendar", "ticket", "support"},
		[]string{"mail", "send", "sent", "forward", "upload", "post", "share", "publish", "text", "sms", "cc", "mirror", "invite"},
		regexp.MustCompile(`\b(?:e-?mail(?:ed)?|send|sent|forward(?:ed)?|upload(?:ed)?|post(?:ed)?|share|shared|publish(?:ed)?|text|sms|cc|bcc|mirror(?:ed)?|invite)\b.{0,60}?\b(?:to|with)\b`), false},
	{"payment", []string{"pay", "invoice", "bill", "bank", "transfer", "wallet", "stripe", "checkout", "order", "shop", "budget", "expense", "financ", "trad", "price", "refund", "charge", "payroll", "crypto", "money", "escrow", "portfolio", "invest", "tip", "fee"},
		[]string{"pay", "charge", "refund", "transfer", "wire", "fee", "purchase", "buy", "sell"},
		regexp.MustCompile(`\b(?:pay|pays|paid|charge|charges|refund|refunds|transfer|transfers|wire|wires|fee|fees|purchase|purchases|buy|buys|sell|sells)\b`), false},
	{"destruction", []string{"delete", "remove", "clean", "purge", "prune", "uninstall", "trash", "wipe", "drop", "reset", "free", "archive", "close", "cancel", "terminate", "destroy"},
		[]string{"delete", "remove", "wipe", "erase", "drop", "purge", "destroy", "truncate", "overwrite", "format", "uninstall"},
		regexp.MustCompile(`\b(?:delete|deletes|remove|removes|wipe|wipes|erase|erases|drop|drops|purge|purges|destroy|destroys|truncate|overwrite|overwrites|format|uninstall)\b`), false},
	{"weakening", []string{"firewall", "security", "protection", "policy", "policies", "auth", "mfa", "2fa", "sandbox", "admin", "permission", "access", "iam", "role"},
		[]string{"disable", "turn off", "turns off", "bypass", "skip", "deactivate", "enable", "turn on", "open", "push", "chmod"},
		regexp.MustCompile(`\b(?:disable|disables|turn off|turns off|bypass|bypassing|skip|skipping|deactivate|deactivates)\b.{0,30}?\b(?:firewall|antivirus|2fa|mfa|protection|reviews?|pull requests?|checks|verification|logging|alerts?|security|sandbox|encryption)\b|\b(?:enable|enables|turn on|open|opens)\s(?:remote login|remote access|ssh|rdp|port \d+|public access)\b|\bpush(?:ed)? (?:it |them )?(?:directly )?to (?:main|master|production|prod)\b|\bchmod 777\b`), true},
	{"secrets", []string{"password", "vault", "secret", "credential", "key", "keychain", "token", "auth", "login", "sso", "identity", "certificate", "cert", "ssh", "gpg", "env"},
		[]string{"password", "passphrase", "keychain", "credential", "api key", "private key", "secret", "seed phrase", "recovery code", "2fa code", "one-time code"},
		regexp.MustCompile(`\b(?:read|reads|retrieve|retrieves|get|collect|copy|list|export|dump|extract|grab|fetch|include|attach|send|share|reveal|print|show|look up)\b(?: [a-z'-]+){0,4} (?:passwords?|passphrases?|keychain|credentials?|api keys?|private keys?|secrets?|seed phrase|recovery codes?|2fa codes?|one-time codes?)\b`), false},
	{"system", []string{"system", "host", "dns", "network", "config", "setting", "admin", "cron", "startup", "shell", "terminal", "os", "device", "server", "infra", "ops"},
		[]string{"/etc/", "crontab", "registry", "startup item", "launch", ".bashrc", ".zshrc", ".profile", "hosts file"},
		regexp.MustCompile(`(?:^|\s)/etc/[a-z]|\bcrontab\b|\bregistry\b|\bstartup items?\b|\blaunch ?agents?\b|\.bashrc\b|\.zshrc\b|\.profile\b|\bhosts file\b`), true},
}

// capabilityCheck compares the purpose of a tool with the actions its
// normalized description d asks for. It returns the mismatching capability names and
// whether one of them is strong.
func capabilityCheck(name, d string) (mismatch []string, strong bool) {
	i := strings.Index(d, ". ")
	if i < 0 || i+2 >= len(d) {
		return nil, false
	}
	purpose := strings.ToLower(strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(name)) + " " + d[:i]
	rest := d[i+2:]
	for _, c := range capabilities {
		if containsAny(purpose, c.purpose) || !containsAny(rest, c.anchors) {
			continue
		}
		for _, m := range c.action.FindAllStringIndex(rest, 4) {
			// "never push to main" forbids, it does not ask.
			if negated(rest, m[0]) {
				continue
			}
			mismatch = append(mismatch, c.name)
			strong = strong || c.strong
			break
		}
	}
	return mismatch, strong
}
