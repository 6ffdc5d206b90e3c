"""The rule engine: each kind of secret found (random values), code and digests left alone, output masked as a
stream whatever its cuts, placeholders stable within a session, diffs still valid, both keyword scanners alike."""

from __future__ import annotations

import dataclasses
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import unidiff

from tests.redact.conftest import ALNUM, jwt, pem_lines, rnd
from tracer.model import FileChange, Header, Output
from tracer.redact import RULES_VERSION, Redactor, export_redactor, record_redactor
from tracer.redact._rules import record_rules


def secrets_by_rule() -> list[tuple[str, str, str]]:
    """``(rule id, text, secret)`` for every kind of secret record time masks, with fresh random values."""
    ghp, aws_secret, pw = "ghp_" + rnd(36), rnd(40, ALNUM + "/+"), rnd(8) + "9" + rnd(7)
    token = jwt()
    return [
        ("github-pat", f"export GITHUB_TOKEN={ghp}", ghp),
        ("github-fine-grained-pat", "x github_pat_" + (s := rnd(82, ALNUM + "_")) + " y", "github_pat_" + s),
        ("gitlab-pat", f"glpat-{(g := rnd(20))}", f"glpat-{g}"),
        ("aws-access-token", f"AWS_ACCESS_KEY_ID={(a := 'AKIA' + rnd(16, string.ascii_uppercase + '234567'))}", a),
        ("aws-secret-access-key", f"aws_secret_access_key = {aws_secret}", aws_secret),
        ("slack-bot-token", f"SLACK={(sl := f'xoxb-{rnd(11, string.digits)}-{rnd(12, string.digits)}-{rnd(24)}')}", sl),
        ("stripe-access-token", f"key: {(st := 'sk_live_' + rnd(24))}\n", st),
        ("npm-access-token", f"//registry.npmjs.org/:_authToken={(n := 'npm_' + rnd(36))}\n", n),
        ("pypi-upload-token", f"password = {(py := 'pypi-AgEIcHlwaS5vcmc' + rnd(60, ALNUM + '_-'))}", py),
        ("openai-api-key", f"OPENAI={(o := f'sk-proj-{rnd(74)}T3BlbkFJ{rnd(74)}')}\n", o),
        ("openai-api-key", f'OPENAI_API_KEY = "{(o2 := f"sk-proj-{rnd(74)}T3BlbkFJ{rnd(73)}-")}"', o2),
        ("huggingface-access-token", f"hf {(h := 'hf_' + rnd(34, string.ascii_letters))} ok", h),
        ("gcp-api-key", f"key={(gc := 'AIza' + rnd(35, ALNUM + '_-'))}\n", gc),
        ("jwt", f"INFO token={token} 200", token),
        ("authorization-header", f"curl -H 'Authorization: Bearer {(b := rnd(40))}' x", b),
        ("url-credentials", f"git clone https://bob:{pw}@git.example.org/r.git", pw),
        ("secret-assignment", f"DB_PASSWORD={pw}", pw),
        ("secret-assignment", f'"client_secret": "{pw}"', pw),
        ("secret-assignment", f"pg_dumpall --password={pw} db", pw),
        ("mysql-password", f"mysql -uroot -p{pw} db", pw),
        ("mysql-password", f"mysqldump --password='{pw} x' db", f"{pw} x"),
        ("registry-login-password", f"docker login -u bob -p {pw} ghcr.io", pw),
        ("registry-login-password", f"podman login --password={pw} quay.io", pw),
        ("cli-password-option", f"sshpass -p {pw} ssh deploy@host", pw),
        ("cli-password-option", f"redis-cli -h cache -a {pw} ping", pw),
        ("cli-password-option", f"mongosh mongodb://db -u admin --password {pw}", pw),
        ("cli-password-option", f"ldapsearch -x -D cn=admin -w {pw} -b dc=acme", pw),
        ("cli-password-option", f"smbclient //srv/share -U bob%{pw}", pw),
        ("cli-password-option", f"gpg --batch --passphrase {pw} -d f.gpg", pw),
        ("cli-password-option", f"openssl enc -aes256 -pass pass:{pw} -in f", pw),
        ("cli-password-option", f"zip -r -P {pw} out.zip dir", pw),
        ("cli-password-option", f"7z a -p{pw} -mhe=on out.7z dir", pw),
        ("cli-password-option", f"ssh-keygen -t ed25519 -N '{pw}' -f key", pw),
        ("curl-user-password", f"curl -u bob:{pw} https://api.acme.io", pw),
        ("curl-user-password", f"curl --user 'bob:{pw} x' https://api.acme.io", f"{pw} x"),
        ("secret-assignment", f"GET /cb?access_token={pw}&x=1", pw),
        ("url-credentials", f"REDIS_URL=redis://:{pw}@cache:6379/0", pw),
        ("password-stdin-echo", f"echo {pw} | docker login -u bob --password-stdin ghcr.io", pw),
        ("password-stdin-echo", f"echo -n '{pw} x' | podman login --password-stdin quay.io", f"{pw} x"),
        ("password-stdin-echo", f"echo {pw} | sudo -S apt update", pw),
        ("password-stdin-echo", f"printf '%s\\n' {pw} | docker secret create db -", pw),
        ("password-stdin-echo", f"sudo -S <<< {pw} apt update", pw),
        ("password-stdin-echo", f"docker secret create db - <<< '{pw}'", pw),
        ("password-stdin-echo", f"echo 'bob:{pw}' | chpasswd", f"bob:{pw}"),
        ("password-stdin-echo", f"rsync --password-file=<(echo {pw}) src rsync://host/mod", pw),
        ("gh-secret-body", f"gh secret set API_TOKEN --body {pw}", pw),
        ("gh-secret-body", f'gh secret set API_TOKEN -R acme/app -b"{pw}"', pw),
        ("netrc-password", f"machine api.acme.io login bob password {pw}", pw),
        ("netrc-password", f"machine api.acme.io\n  login bob\n  password {pw}\n", pw),
        ("cookie-header", f"< Set-Cookie: sessionid={pw}; Path=/; HttpOnly", pw),
        ("cookie-header", f"> Cookie: sessionid={pw}; theme=dark", f"sessionid={pw}; theme=dark"),
        ("cookie-header", f"curl -H 'Cookie: sid={pw}' https://acme.io", f"sid={pw}"),
        ("secret-element", f"<server><id>r</id><password>{pw}</password></server>", pw),
        ("secret-element", f"<add key='x'/><apiKey>{pw}</apiKey>", pw),
        ("labelled-key", f"Your API key: {pw}", pw),
        ("labelled-key", f'Client secret = "{pw}"', pw),
        ("secret-assignment", f"PASSPHRASE={pw}", pw),
        ("secret-assignment", f"export RAILS_MASTER_KEY={pw}", pw),
        ("secret-assignment", f"signing.key = {pw}", pw),
        ("pass-assignment", f"SSHPASS={pw} sshpass -e ssh host", pw),
        ("pass-assignment", f"export SMTP_PASS='{pw}'", pw),
        ("registry-auth", f'{{"auths": {{"ghcr.io": {{"auth": "{(au := "Ym9iO" + rnd(24))}"}}}}}}', au),
        ("registry-auth", f"_auth = {(au2 := rnd(28))}\n", au2),
        ("kubeconfig-client-key", f"    client-key-data: {(kd := 'LS0tLS1CRUdJTi' + rnd(60))}", kd),
        ("api-key-header", f"'X-Amz-Security-Token': '{(st2 := 'IQoJb3JpZ2luX2Vj' + rnd(80))}'", st2),
        ("api-key-header", f"Ocp-Apim-Subscription-Key: {pw}", pw),
        ("cli-secret-argument", f"keytool -list -keystore app.jks -storepass {pw}", pw),
        ("cli-secret-argument", f"twine upload -u __token__ -p {pw} dist/*", pw),
        ("cli-secret-argument", f"curl --oauth2-bearer {pw} https://api.acme.io", pw),
        ("cli-secret-argument", f"az login -u bob -p '{pw}'", pw),
        ("cli-secret-argument", f"vault login {pw}", pw),
        ("cli-secret-argument", f"sqlcmd -S db -U sa -P {pw} -Q 'select 1'", pw),
        ("cli-secret-argument", f"aws configure set aws_secret_access_key {pw}", pw),
        ("cli-secret-argument", f"ngrok config add-authtoken {pw}", pw),
        ("cli-secret-argument", f"npm config set //npm.acme.io/:_authToken {pw}", pw),
        ("cli-secret-argument", f"poetry config http-basic.acme bob {pw}", pw),
        ("cli-secret-positional", f"htpasswd -b /etc/nginx/.htpasswd admin {pw}", pw),
        ("cli-secret-positional", f"htpasswd -nbB admin {pw}", pw),
        ("cli-secret-positional", f"htpasswd -bBC 12 .htpasswd admin {pw}", pw),
        ("cli-secret-positional", f"rabbitmqctl add_user admin '{pw}'", pw),
        ("cli-secret-positional", f"mc alias set local http://localhost:9000 minioadmin {pw}", pw),
        ("cli-secret-positional", f"openssl passwd -6 -salt xyz {pw}", pw),
        ("cli-secret-positional", f"rclone config create r s3 secret_access_key {pw}", pw),
        ("oracle-connect-password", f"sqlplus scott/{pw}@orcl", pw),
        ("oracle-connect-password", f"url=jdbc:oracle:thin:scott/{pw}@db.acme.io:1521:orcl", pw),
        ("config-secret-line", f"[mail]\nhost = smtp.acme.io\npass = {pw}\n", pw),
        ("config-secret-line", f"    ansible_become_pass: '{pw}'\n", pw),
        ("config-secret-line", f"# redis.conf\nrequirepass {pw}\n", pw),
        ("config-secret-line", f'network={{\n\tssid="home"\n\tpsk="{pw}"\n}}\n', pw),
        ("config-secret-line", f"> USER anonymous\r\n< 331 Password required\r\n> PASS {pw}\r\n", pw),
        ("config-secret-line", f"$ cat ~/.pgpass\ndb.acme.io:5432:shop:app:{pw}\n", pw),
        (
            "config-secret-line",
            f"== Data ==\nKey            Value\n---            -----\ndb_password    {pw}\nusername       app\n",
            pw,
        ),
        (
            "config-secret-line",
            f'{{\n  "db_password": {{\n    "sensitive": true,\n    "type": "string",\n    "value": "{pw}"\n  }}\n}}',
            pw,
        ),
        ("fish-set-secret", f"set -gx API_TOKEN {pw}", pw),
        ("fish-set-secret", f"setenv DB_PASSWORD '{pw} x'", f"{pw} x"),
        ("secret-config-value", f'<add key="Stripe:ApiKey" value="{pw}" />', pw),
        ("secret-config-value", f'<entry key="db.password">{pw}</entry>', pw),
        ("secret-config-value", f"  - name: DB_PASSWORD\n    value: {pw}\n", pw),
        ("secret-config-value", f"client_secret: |\n  {pw}\n", pw),
        ("secret-assignment", f'curl -d "{{\\"password\\": \\"{pw}\\"}}" https://acme.io/login', pw),
        (
            "google-oauth-access-token",
            f"$ gcloud auth print-access-token\n{(ya := 'ya29.a0' + rnd(60, ALNUM + '_-'))}",
            ya,
        ),
    ]


@pytest.mark.parametrize("rule, text, secret", secrets_by_rule(), ids=lambda x: x if isinstance(x, str) else "")
def test_each_kind_of_secret_is_masked_at_record_time(rule: str, text: str, secret: str) -> None:
    r = record_redactor()
    masked = r.text(text)
    assert secret not in masked
    assert f"[REDACTED:{rule}:1]" in masked, masked
    assert r.counts == {rule: 1}


@pytest.mark.parametrize(
    "line",
    [
        "mysql -uroot -p{pw} shop",
        "docker login -u bob -p {pw} ghcr.io",
        "sshpass -p{pw} ssh deploy@host",
        "curl -u bob:{pw} https://api.acme.io",
        "ldapsearch -x -w {pw} -b dc=acme",
        "htpasswd -b .htpasswd admin {pw}",
        "7z a -p{pw} out.7z dir",
        "keytool -list -keystore app.jks -keypass {pw}",
    ],
)
def test_a_password_typed_on_a_command_line_is_masked_from_its_first_character(line: str) -> None:
    """The shell echoes a command line as it is typed, a byte at a time: the first byte of the password is masked
    as it comes (a one-letter value alone is what gitleaks' allowlist keeps, so the open pattern does it)."""
    pw = rnd(12) + "7"
    data = (line.format(pw=pw) + "\r\n").encode()
    r = record_redactor()
    out = b"".join(r.output(data[i : i + 1]) for i in range(len(data)))
    start = data.index(pw.encode())
    assert out[start : start + len(pw)] == b"*" * len(pw) and out.replace(b"*" * len(pw), pw.encode()) == data
    assert sum(r.counts.values()) == 1, r.counts


@pytest.mark.parametrize(
    "line",
    [
        "mysql -u root -p shop",  # -p alone: mysql asks
        "mysql --port=3306 -P 3306 -h db shop",
        "docker login -u bob --password-stdin ghcr.io",
        "echo $PW | podman login --password-stdin -u bob quay.io",
        "curl -u bob:$TOKEN https://api.acme.io",
        "sshpass -f ~/.pw ssh deploy@host",
        "mkdir -p build && cp -p a b",
        "zip -r out.zip dir",
        "mysql -uroot -p${MYSQL_ROOT_PASSWORD} shop",
        "mysql -u root --password shop",  # --password alone asks too: shop is the database
        "mariadb-dump --password --databases shop",
        "cd db && psql --password -h db shop",  # PostgreSQL's --password only asks
        "ssh-keygen -t ed25519 -N '' -f key -C me",  # no passphrase
        "sshpass -p$SSHPASS ssh -p 2222 deploy@host",  # ssh's own -p is a port
        "sshpass -f ~/.pw ssh -p 2222 deploy@host",
        "htpasswd -c .htpasswd admin",  # without -b it asks
        "htpasswd -nB admin",
        "sudo -S apt update",
        "echo $PW | sudo -S apt update",
        'sudo -S <<< "$PW" apt update',
        "7z a out.7z dir && 7z x -p archive.7z",
        "openssl passwd -stdin -6",
        "sqlplus / as sysdba",
        "sqlplus -s /nolog @setup.sql",
        "mc alias set local http://localhost:9000 $ACCESS $SECRET",
        "rclone config create r s3 provider AWS env_auth true",
        "    this.pass = value;",  # code
        "pass = getpass()",
        "fds_to_pass = []",
        "--- PASS: TestLogin (0.00s)",  # go test
        "PASS tests/login_test.go",
        '"sensitive": false, "type": "string", "value": "eu-west-1"',
        "sqlplus / as sysdba @setup.sql",
        "SecretStorage      3.3.3",  # pip list
        "secrets.txt  token.json  templates",  # ls
        "secrets      templates",
        "password     changeme",
    ],
)
def test_command_lines_without_a_password_are_left_as_they_are(line: str) -> None:
    r = record_redactor()
    assert r.text(line) == line and r.output(line.encode()) == line.encode()
    assert export_redactor().text(line) == line


@pytest.mark.parametrize(
    "line", ["mytool --password hunter2xyz", "echo mysql; deploy --password hunter2xyz", "mysql --password=hunter2xyz"]
)
def test_a_password_after_the_flag_of_other_programs_is_masked(line: str) -> None:
    assert "hunter2xyz" not in record_redactor().text(line)


@pytest.mark.parametrize(
    "line, rule",
    [
        (
            "keytool -importkeystore -srcstorepass '{0}' -deststorepass \"{1}\" -srckeypass {2} -destkeypass {3} -v",
            "cli-secret-argument",
        ),
        ("ssh-keygen -p -P {0} -N {1} -f key", "cli-password-option"),
        ("openssl pkcs12 -export -passin pass:{0} -passout pass:{1} -out a.p12", "cli-password-option"),
        ("jarsigner -storepass {0} -keypass {1} app.jar k; keytool -list -storepass {2}", "cli-secret-argument"),
    ],
)
def test_every_secret_option_of_one_command_is_masked(line: str, rule: str) -> None:
    """A command giving two secrets (a keystore's and its key's, the old and the new passphrase): both, and each
    by its own placeholder; the rule's regex alone finds the first only (it names the command before the option)."""
    values = [rnd(10) + str(i) for i in range(line.count("{"))]
    text = line.format(*values)
    r = record_redactor()
    masked = r.text(text)
    assert not any(v in masked for v in values), masked
    assert [f"[REDACTED:{rule}:{i + 1}]" in masked for i in range(len(values))] == [True] * len(values), masked
    out = r.output((text + "\r\n").encode())  # output too (the values, learnt, are masked in it either way)
    assert not any(v.encode() in out for v in values)
    data = (text + "\r\n").encode()
    fresh = record_redactor()
    out = fresh.output(data)
    assert not any(v.encode() in out for v in values) and fresh.counts == {rule: len(values)}
    typed = record_redactor()  # echoed as typed, a byte at a time: each value masked from its first byte
    out = b"".join(typed.output(data[i : i + 1]) for i in range(len(data)))
    for v in values:
        start = data.index(v.encode())
        assert out[start : start + len(v)] == b"*" * len(v), out


def test_a_long_line_of_commands_with_two_secrets_each_is_searched_in_bounded_pieces() -> None:
    # hostile output: one line (no command separator) of 10,000 such commands; each secret found searches at most
    # REPEAT_REACH bytes after it again (the rest of the line each time would be quadratic)
    line = "".join(f"keytool -storepass a{i:07d} -keypass 'b{i:07d}' " for i in range(10_000))
    r = record_redactor()
    out = r.output(line.encode())
    assert b"a0000" not in out and b"b0009999" not in out and r.counts == {"cli-secret-argument": 20_000}


def test_private_key_body_is_masked_line_by_line() -> None:
    lines = pem_lines()
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END OPENSSH PRIVATE KEY-----\n"
    masked = record_redactor().text(text)
    assert masked.count("\n") == text.count("\n")
    assert masked.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED:private-key:1]\n")
    assert not any(line in masked for line in lines)


@pytest.mark.parametrize(
    "text",
    [
        "password=password",  # a keyword argument in code
        "token = get_token()",
        "def login(user: str, password: str) -> None:",
        "self.secret = secret",
        "password = args.password",
        "TOKEN_FILE=/run/secrets/token",
        "the token expired, log in again",
        "Password: ",
        "export GITHUB_TOKEN=$GITHUB_TOKEN",
        'api_key = os.environ["API_KEY"]',
        "postgres://user:${PGPASSWORD}@db/app",
        "commit 3f2a9c1e4b5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f",
        "id: 123e4567-e89b-42d3-a456-426614174000",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "tokenizer = AutoTokenizer.from_pretrained(name)",
        "    if cookie:",
        "cookie: str = request.headers.get('Cookie')",
        "<token>IDENTIFIER</token> <password>${env.DEPLOY_PASSWORD}</password> <apiKey>changeme</apiKey>",
        "API key: your-api-key-here",
        "Private key: -----BEGIN OPENSSH PRIVATE KEY-----",
        "Access token: [REDACTED:github-pat:1]",
        "machine github.com login bob password $GITHUB_TOKEN",
        "echo $PAT | docker login ghcr.io -u bob --password-stdin",
        'gh secret set API_TOKEN --body "$API_TOKEN"',
        "redis://localhost:6379/0 and http://[::1]:8080/x",
        "bypass=true compass: north pass=3 PASS=$PASS",
        'app_key = "com.example.app"',
        "    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
        '"auth": "none"',
        "set -x; set -e PASSWORD_FILE",
        '<add key="LogLevel" value="Information" /> <add key="ApiKeyHeader" value="X-Api-Key" />',
        "  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef: {name: db, key: password}",
        "token: >\n  IDENTIFIER\n",
        "set -g __fish_prompt_char_token_present_display K; __init_uvar fish_token_color --underline",
        "login as root\n  password hashing uses yescrypt",
        "docker run -v /etc/passwd:/etc/passwd:ro -v /etc/shadow:/etc/shadow:ro app",
        "OLDPWD=/work/main PWD=/work/main/src",
        "password = '{password}'; token: {auth_token}",
        "vault login -method=userpass username=bob; keytool -list -storepass:env STOREPASS -keypass changeit",
        'authorization = self.headers.get("authorization"); authorization = base64.decodebytes(authorization)',
        'headers = {"X-Api-Key": self.api_key, "Authorization": authorization.strip()}',
    ],
)
def test_code_placeholders_and_digests_are_left_alone(text: str) -> None:
    assert record_redactor().text(text) == text


@pytest.mark.parametrize(
    ("before", "assignment"),
    [
        (before, assignment)
        for before in ["set secret ", "the token ", "tokens ", "new secret: ", "rotating password for ", "token " * 3]
        for assignment in ["DB_PASSWORD={v}", "password={v}", "API_TOKEN='{v}'", "--api-key {v}"]
        if not (before.endswith(": ") and assignment.startswith("-"))  # (`secret: --api-key` takes the flag as value)
    ],
)
def test_an_assignment_after_a_word_the_rule_names_is_masked(before: str, assignment: str) -> None:
    """The rule's regex first matches the word (``secret``) with the assignment as its value, which the check
    keeps as "a word after a word": the search goes on inside it, and finds the assignment (it went on after it,
    and the value stayed bare, at record time and at export, in output and in command lines)."""
    value = "s3cr3tValue9" + rnd(8)
    line = before + assignment.format(v=value)
    for make in (record_redactor, export_redactor):
        assert value.encode() not in make().output(line.encode() + b"\r\n"), (make.__name__, line)
        assert value not in make().text(line), (make.__name__, line)


def test_a_word_a_rule_took_for_a_value_is_not_looked_for_everywhere() -> None:
    """A value learnt is masked wherever it comes again: a placeholder word never is one, whatever rule took it."""
    r = record_redactor()
    r.know([(b"password", "netrc-password"), (b"changeme", "secret-assignment")])
    assert r.known == {}
    assert r.output(b"password hashing; changeme later\r\n") == b"password hashing; changeme later\r\n"


@pytest.mark.parametrize(
    "value", ["AWS_SECRET_ACCESS_KEY", "privateKeyUsagePeriod", "#ansibrightred", ":py:class:", "settings.secret_key"]
)
def test_a_value_that_reads_as_a_name_is_masked_where_found_but_not_everywhere(value: str) -> None:
    """Code assigns names to sensitive names (``'secret_key': 'AWS_SECRET_ACCESS_KEY'``, pygments'
    ``Token.Error: '#ansibrightred'``): masked there, but not learnt as a secret to mask wherever it comes."""
    r = record_redactor()
    r.output(f"token = '{value}'\r\n".encode())
    assert r.known == {}
    assert r.output(f"see {value} below\r\n".encode()) == f"see {value} below\r\n".encode()


@pytest.mark.parametrize("value", ["correcthorsebatterystaple", "correct-horse-battery-staple", "MySecretPassword"])
def test_a_passphrase_of_words_is_looked_for_everywhere(value: str) -> None:
    r = record_redactor()
    r.output(f"export DB_PASSWORD={value}\r\n".encode())
    assert value.encode() in r.known
    assert value.encode() not in r.output(f"$ echo $DB_PASSWORD\r\n{value}\r\n".encode())


def test_fish_redrawing_a_command_line_word_by_word_is_masked_and_its_window_title_is_not() -> None:
    """What fish 3 writes for ``set -gx DB_PASSWORD VALUE`` (each word after ``\\r`` and a cursor move, then the
    line again in colours, each colour ended by terminfo's ``sgr0``, ``\\e[m\\x0f``), and the window title it sets
    while the command runs (the command cut short, then the directory)."""
    value = b"Zr8kW3mQ9vLp2Xt7"
    echo = (
        b"\x1b[K\r\x1b[26Cset \r\x1b[30C-gx \r\x1b[34CDB_PASSWORD \r\x1b[46C" + value + b"\r\x1b[62C\x1b[36D"
        b"\x1b[34mset\x1b[30m\x1b[m\x0f \x1b[36m-gx\x1b[30m\x1b[m\x0f \x1b[36mDB_PASSWORD\x1b[30m\x1b[m\x0f "
        b"\x1b[36m" + value + b"\r\x1b[62C\x1b[30m\x1b[m\x0f\r\n\x1b[?2004l\x1b]0;set -gx DB_PASSWORD  /t/u/calc\x07"
    )
    r = record_redactor()
    out = r.output(echo)
    assert value not in out and len(out) == len(echo)
    assert b"/t/u/calc" in out and r.known == {value: "fish-set-secret"}


def test_a_long_run_of_words_the_rule_names_is_searched_once() -> None:
    # each word a candidate whose value is the next word: not taken, and searched on from that word (a search from
    # the next byte would be quadratic here), up to the last, whose value is the assignment
    words = "token secret password " * 20_000 + "token "
    assert (
        record_redactor().text(words + "DB_PASSWORD=s3cr3tValue9xyz")
        == words + "DB_PASSWORD=[REDACTED:secret-assignment:1]"
    )


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f2a9c1e4b5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f",
        "sha = 3f2a9c1e4b5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f",
        "request_id = 123e4567-e89b-42d3-a456-426614174000",
        'integrity: "sha512-' + "A" * 10 + rnd(60) + '=="',
        "version = 1.2.3.4",
        "at 10:30:00 and std::vector<a::b>",
        "prober = self._utf1632_prober.charset_name; f = windll.kernel32.GetConsoleScreenBufferInfo",
    ],
)
def test_hashes_uuids_versions_and_times_are_not_masked_at_export(text: str) -> None:
    assert export_redactor().text(text) == text


def test_export_masks_email_addresses_and_high_entropy_values() -> None:
    value = rnd(32)
    r = export_redactor()
    domain = f"corp-{rnd(5, string.ascii_lowercase)}.io"
    masked = r.text(f"mail ada.l@{domain} from 192.168.7.21 and fe80::1ff:fe23:4567:890a; salt = {value}")
    assert "@" not in masked and "192.168" not in masked and "fe80" not in masked and value not in masked
    assert set(r.counts) == {"email", "ipv4", "ipv6", "high-entropy-assignment"}


def test_the_same_value_gets_the_same_placeholder_within_a_session() -> None:
    a, b = "ghp_" + rnd(36), "ghp_" + rnd(36)
    r = record_redactor()
    assert r.text(f"{a} {b} {a}") == "[REDACTED:github-pat:1] [REDACTED:github-pat:2] [REDACTED:github-pat:1]"
    assert r.text(f"later: {b}") == "later: [REDACTED:github-pat:2]"
    assert r.counts == {"github-pat": 4}


def test_a_secret_cut_anywhere_in_output_is_still_masked_and_counted_once() -> None:
    ghp = "ghp_" + rnd(36)
    stream = f"\x1b[32m$\x1b[0m echo {ghp}\r\n{ghp}\r\n".encode()
    for cut in range(1, len(stream)):
        r = record_redactor()
        out = r.output(stream[:cut]) + r.output(stream[cut:])
        assert len(out) == len(stream) and out.count(b"\r\n") == 2
        assert ghp[4:].encode()[:8] not in out, cut
        assert sum(r.counts.values()) == 2, (cut, r.counts)


def test_a_secret_that_colours_split_is_masked_with_the_colours_kept(tmp_path: Path) -> None:
    """``grep --color ghp_`` colours the match alone: the token is ``ghp_`` + SGR and EL + the rest. Searched as the
    terminal shows it, it is found whole; its bytes are masked and the escape sequences kept, so the colour still
    ends where it did."""
    import shutil
    import subprocess

    ghp, pw = "ghp_" + rnd(36), rnd(12) + "7"
    (tmp_path / "env").write_text(f"GITHUB_TOKEN={ghp}\nDB_PASSWORD={pw}\n")
    grep = shutil.which("grep")
    assert grep is not None
    colored = subprocess.run(
        [grep, "--color=always", "-e", "ghp_", "-e", "PASSWORD", str(tmp_path / "env")],
        capture_output=True,
        check=True,
    ).stdout.replace(b"\n", b"\r\n")
    assert b"ghp_\x1b[m\x1b[K" + ghp[4:].encode() in colored  # (split, as the terminal receives it)
    styled = f"\x1b[1m{ghp[:10]}\x1b[0m\x1b[32m{ghp[10:]}\x1b[0m\r\n".encode()  # two colours inside the token
    stream = colored + styled
    for cut in (0, 5, len(colored) - 3, len(colored) + 12):
        r = record_redactor()
        out = r.output(stream[:cut]) + r.output(stream[cut:]) if cut else r.output(stream)
        assert len(out) == len(stream)
        assert ghp[4:12].encode() not in out and ghp[-8:].encode() not in out and pw.encode() not in out, cut
        assert out.count(b"\x1b[") == stream.count(b"\x1b["), cut  # every escape sequence kept
        assert r.counts == {"github-pat": 2, "secret-assignment": 1}, (cut, r.counts)
    assert ghp[-8:].encode() not in export_redactor().output(styled)  # and so does export time
    r = record_redactor()
    split = r.output(f"DB_PASSWORD=\x1b[1m{pw[:5]}\x1b[0m{pw[5:]}\r\n".encode())  # a value the colours split:
    assert split == b"DB_PASSWORD=\x1b[1m*****\x1b[0m" + b"*" * (len(pw) - 5) + b"\r\n"  # whole, not its first part
    assert r.output(f"{pw}\r\n".encode()) == b"*" * len(pw) + b"\r\n"  # ...is learnt as shown, and found bare


def test_a_value_found_once_is_masked_wherever_it_comes_again() -> None:
    """``echo $AWS_SECRET_ACCESS_KEY`` prints the key with no name next to it: it is masked because the session
    showed it to be one before (in the command line, or earlier in the output), however the output is cut."""
    key, short = rnd(40, ALNUM), rnd(6)
    line = f"export AWS_SECRET_ACCESS_KEY={key} PIN={short}; echo $AWS_SECRET_ACCESS_KEY $PIN"
    stream = f"{line}\r\n{key} {short}\r\ndone\r\n".encode()
    for cut in range(1, len(stream)):
        r = record_redactor()
        out = r.output(stream[:cut]) + r.output(stream[cut:])
        assert len(out) == len(stream) and key[:8].encode() not in out and key[-8:].encode() not in out, cut
        assert out.endswith(b"* " + short.encode() + b"\r\ndone\r\n"), cut  # (too short to look for again)
    bare = stream.index(key.encode(), len(line))
    for cut in range(bare + 4, bare + len(key)):  # a read ends inside the bare value: masked as far as it goes
        r = record_redactor()
        out = r.output(stream[:bare]) + r.output(stream[bare:cut]) + r.output(stream[cut:])
        assert key[4:12].encode() not in out and key[-8:].encode() not in out, cut
    r = record_redactor()
    assert r.text(line).count("[REDACTED:aws-secret-access-key:1]") == 1
    assert r.text(f"rotated {key} today") == "rotated [REDACTED:aws-secret-access-key:1] today"  # a note, later
    assert r.counts == {"aws-secret-access-key": 2}
    assert record_redactor().output(f"{key}\r\n".encode()) == f"{key}\r\n".encode()  # not before it is known


def test_output_handed_over_as_a_list_of_reads_is_masked_as_the_same_bytes_joined() -> None:
    # the writer gives an event's reads as they came (memoryviews of the PTY loop's batches), joined only once
    ghp = "ghp_" + rnd(36)
    stream = f"plain\r\n\x1b[32m$\x1b[0m echo {ghp}\r\n{ghp}\r\nmore plain text\r\n".encode() * 3
    for cut in range(1, len(stream), 7):
        joined, listed = record_redactor(), record_redactor()
        pieces = [memoryview(stream)[i : i + cut] for i in range(0, len(stream), cut)]
        half = len(pieces) // 2
        expected = joined.output(b"".join(pieces[:half])) + joined.output(b"".join(pieces[half:]))
        got = bytes(listed.output(pieces[:half])) + bytes(listed.output(pieces[half:]))
        assert got == expected and ghp[4:].encode()[:8] not in got, cut
        assert listed.counts == joined.counts == {"github-pat": 6}
    clean = [b"nothing ", memoryview(b"to mask\r\n")]
    out = record_redactor().output(clean)
    assert isinstance(out, memoryview) and bytes(out) == b"nothing to mask\r\n"  # no copy but the join
    assert record_redactor().output([]) == b""


def test_a_secret_typed_byte_by_byte_is_masked_as_it_comes() -> None:
    pw = rnd(12) + "7"
    line = f"export DB_PASSWORD={pw}\r\n".encode()
    r = record_redactor()
    out = b"".join(r.output(line[i : i + 1]) for i in range(len(line)))
    assert out == b"export DB_PASSWORD=" + b"*" * len(pw) + b"\r\n"
    assert r.counts == {"secret-assignment": 1}


@pytest.mark.parametrize("after", [b"\x1b[?1l\x1b>\r\r\n", b"\x1b=\x1b[?2004l\r\n", b"\x0f\x07\r\n"])
def test_the_sequence_a_typed_secret_runs_into_is_not_masked(after: bytes) -> None:
    """zsh writes ``\\e[?1l\\e>`` when Enter ends a typed line: the secret's continuation stops at its ESC, and the
    sequence stays whole (it was shown as ``[?1l`` after a star where its ESC had been)."""
    pw = rnd(12) + "7"
    r = record_redactor()
    typed = f"export GH_TOKEN={pw}".encode()
    out = b"".join(r.output(typed[i : i + 1]) for i in range(len(typed))) + r.output(after)
    assert out == b"export GH_TOKEN=" + b"*" * len(pw) + after


def test_a_long_jwt_and_a_private_key_arriving_in_pieces_are_masked_whole() -> None:
    token = jwt() + rnd(900, ALNUM + "_-")  # longer than the context kept between pieces
    lines = pem_lines(40)
    stream = (
        f"token={token}\r\n-----BEGIN PRIVATE KEY-----\r\n" + "\r\n".join(lines) + "\r\n-----END PRIVATE KEY-----\r\n"
    ).encode()
    r = record_redactor()
    out = b"".join(r.output(stream[i : i + 100]) for i in range(0, len(stream), 100))
    assert len(out) == len(stream)
    assert token.encode()[20:40] not in out
    assert not any(line.encode() in out for line in lines)
    assert b"-----END PRIVATE KEY-----\r\n" in out


def test_output_events_keep_their_length_and_reads() -> None:
    ghp = "ghp_" + rnd(36)
    event = Output(t=5, data=f"{ghp}\r\n".encode(), reads=((10, 0), (42, 3)))
    masked = record_redactor().event(event)
    assert isinstance(masked, Output) and masked.reads == event.reads and len(masked.data) == len(event.data)
    clean = Output(t=5, data=b"hello\r\n")
    assert record_redactor().event(clean) is clean  # nothing masked: the very same event, no copy


def test_a_secret_in_a_diff_keeps_the_diff_valid() -> None:
    lines = pem_lines(6)
    key = "ghp_" + rnd(36)
    diff = (
        "diff --git a/k.pem b/k.pem\nnew file mode 100644\n--- /dev/null\n+++ b/k.pem\n@@ -0,0 +1,9 @@\n"
        "+-----BEGIN RSA PRIVATE KEY-----\n"
        + "".join(f"+{line}\n" for line in lines)
        + "+-----END RSA PRIVATE KEY-----\n"
        f"+token: {key}\n"
    )
    change = FileChange(t=1, path="k.pem", op="create", diff=diff, added=9, after_hash="a" * 40)
    masked = record_redactor().event(change)
    assert isinstance(masked, FileChange) and masked.after_hash == change.after_hash
    (patched,) = unidiff.PatchSet(masked.diff)
    assert patched.added == 9
    assert key not in masked.diff and not any(line in masked.diff for line in lines)


def test_the_data_of_a_binary_patch_is_not_masked_so_the_patch_still_applies(tmp_path: Path) -> None:
    """A binary patch's data is the file deflated and base85-encoded: no rule can see a secret in it, but its
    alphabet looks like assignments of random values to the export rules (hundreds of hits per MiB). Masked, the
    patch was corrupt for ``git apply``; a secret in a text hunk beside it is still masked."""
    import random
    import subprocess

    def git(where: Path, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(["git", "-C", str(where), *args], check=True, capture_output=True, text=True, input=stdin)
        return done.stdout

    repo, empty = tmp_path / "repo", tmp_path / "empty"
    for r in (repo, empty):
        r.mkdir()
        git(r, "init", "-q")
    (repo / "data.bin").write_bytes(random.Random(7).randbytes(1 << 20))
    key = "ghp_" + rnd(36)
    (repo / "conf.txt").write_text(f"token: {key}\n")
    git(repo, "add", "-A")
    diff = git(repo, "diff", "--cached", "--binary")
    assert "GIT binary patch" in diff
    for redactor in (export_redactor(), record_redactor()):
        masked = redactor.text(diff, diff=True)
        assert key not in masked
        binary = diff[diff.index("GIT binary patch") :]
        assert binary in masked or binary.split("diff --git")[0] in masked  # the binary part, byte for byte
        git(empty, "apply", "--check", stdin=masked)


def test_an_export_masks_a_value_before_it_was_first_named_too(tmp_path: Path) -> None:
    """A secret printed bare (``cat token.txt``), named only later (``export API_TOKEN=…``), is on disk since
    record time; an export that holds the session whole learns every value first, and masks it everywhere."""
    from tracer.model import CommandStart, Session
    from tracer.redact import SessionRedaction

    token = rnd(24) + "7"
    header = Header(
        t=0, session_id="s", started_at="2026-01-01T00:00:00.000000Z", tracer_version="0", shell="bash",
        shell_kind="bash", mode="interactive", term="xterm", cols=80, rows=24, cwd="/w", workspace="/w",
    )  # fmt: skip
    events = [
        CommandStart(t=1, id=1, command="cat token.txt", cwd="/w"),
        Output(t=2, data=f"{token}\r\n".encode()),
        CommandStart(t=3, id=2, command=f"export API_TOKEN={token}", cwd="/w"),
    ]
    session = Session(path=tmp_path / "s.tracer", header=header, events=events)
    redaction = SessionRedaction()
    for masked in (export_redactor(header=header).session(session), redaction(session)):
        output = masked.events[1]
        assert isinstance(output, Output) and output.data == b"*" * len(token) + b"\r\n"
        command = masked.events[2]
        assert (
            isinstance(command, CommandStart) and command.command == "export API_TOKEN=[REDACTED:secret-assignment:1]"
        )
    assert redaction.summary() == "2 values (secret-assignment 2)"  # each counted once, in the pass that writes


def test_a_session_held_whole_and_one_streamed_are_masked_alike_with_many_values(tmp_path: Path) -> None:
    """80 secrets, each printed bare (one output event each, and all again in one) long before it is named, and
    named in the header's task: an export that holds the session masks it in one pass of the rules and searches
    what came before the last value was learnt again for the values alone; one that streams learns every value
    first. Both mask every occurrence, with the same placeholders and counts. (The scanner takes learnt values in
    steps beyond 64: a streamed export looked for the last few only where a rule found them.)"""
    from tracer.model import CommandStart, Note, Session

    tokens = [rnd(24) + "7" for _ in range(80)]
    header = Header(
        t=0, session_id="s", started_at="2026-01-01T00:00:00.000000Z", tracer_version="0", shell="bash",
        shell_kind="bash", mode="interactive", term="xterm", cols=80, rows=24, cwd="/w", workspace="/w",
        task=f"rotate {tokens[-1]}",
    )  # fmt: skip
    events: list[Any] = [Output(t=1 + i, data=f"{tok}\r\n".encode()) for i, tok in enumerate(tokens)]
    events.append(CommandStart(t=100, id=1, command="cat *.txt", cwd="/w"))
    events.append(Output(t=101, data="\r\n".join(tokens).encode()))
    events.append(Note(t=102, id="n1", text=f"the last one: {tokens[-1]}"))
    events += [
        CommandStart(t=200 + i, id=2 + i, command=f"export API_TOKEN={tok}", cwd="/w") for i, tok in enumerate(tokens)
    ]
    events.append(Output(t=400, data=f"tail {tokens[0]}\r\n".encode()))
    session = Session(path=tmp_path / "s.tracer", header=header, events=events)

    whole = export_redactor(header=header)
    held = whole.session(session)
    streamed = export_redactor(header=header)
    streamed.learn([header, *events])
    one_by_one = [streamed.event(e) for e in [header, *events]]
    assert [held.header, *held.events] == one_by_one
    for e in one_by_one:
        assert not any(tok in repr(e) for tok in tokens), e
    assert whole.counts == streamed.counts and whole.total == 80 * 3 + 3


def test_header_text_is_masked_and_ids_are_kept() -> None:
    token = "glpat-" + rnd(20)
    header = Header(
        t=0, session_id="s", started_at="2026-01-01T00:00:00.000000Z", tracer_version="0", shell="bash",
        shell_kind="bash", mode="interactive", term="xterm", cols=80, rows=24, cwd="/w", workspace="/w",
        head_commit="3f2a9c1e4b5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f", task=f"rotate {token}",
    )  # fmt: skip
    masked = record_redactor().event(header)
    assert isinstance(masked, Header)
    assert masked.task == "rotate [REDACTED:gitlab-pat:1]" and masked.head_commit == header.head_commit


@pytest.mark.parametrize("host", ["vm", "alice-laptop.corp.example"])
def test_the_header_host_name_is_masked_whole_at_export_whatever_its_length(host: str) -> None:
    header = Header(
        t=0, session_id="s", started_at="2026-01-01T00:00:00.000000Z", tracer_version="0", shell="zsh",
        shell_kind="zsh", mode="interactive", term="xterm", cols=80, rows=24, cwd="/w", workspace="/w",
        hostname=host, host_id="0123456789abcdef0123456789abcdef", uid=1000,
    )  # fmt: skip
    redactor = export_redactor(header=header, collect=True)
    masked = redactor.event(header)
    assert isinstance(masked, Header) and masked.hostname == "[REDACTED:host-name:1]"
    assert masked.host_id is None and masked.uid == 1000  # (anyone with the machine's id could compute it)
    assert redactor.counts == {"host-name": 1} and redactor.findings and redactor.findings[0].rule == "host-name"
    assert redactor.event(masked) == masked  # exported twice: the placeholder stays as it is
    # the name in output: masked as a word when it is long enough not to be one (a short one would garble text)
    prompt = redactor.event(Output(t=5, data=f"root@{host}:~# ".encode()))
    assert isinstance(prompt, Output) and (host.encode() in prompt.data) == (len(host) < 3)
    assert record_redactor().event(header) == header  # record time keeps it: it stays on the machine


def test_both_keyword_scanners_find_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [t for _, t, _ in secrets_by_rule()]
    stream = "\r\n".join(texts).encode()

    def masked(r: Redactor) -> tuple[list[str], bytes]:
        out = b"".join(bytes(r.output(stream[i : i + 37])) for i in range(0, len(stream), 37))
        return [r.text(t) for t in texts], out

    with_hyperscan = masked(record_redactor())
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # not installed: RE2's multi-pattern set instead
    assert masked(Redactor(record_rules())) == with_hyperscan


def test_every_rule_compiles() -> None:
    rules = record_rules().rules + export_redactor().rules.rules
    for rule in rules:
        assert rule.regex.groups >= 0, rule.id  # compiles (lazily) with RE2
        for allow in (*rule.allow, *rule.allow_match, *rule.allow_line):
            assert allow.groups >= 0
    assert export_redactor().rules.label == f"rules v{RULES_VERSION}"
    stages = {r.stage for r in record_rules().rules}
    assert stages == {"record"}
    assert dataclasses.is_dataclass(rules[0])


def test_a_redactor_is_made_without_importlib_resources_or_tempfile(tmp_path: Path) -> None:
    """Its rules are read beside the module: importlib.resources (with tempfile, shutil and zipfile) was ~8 ms of
    every recording's start. The first run writes the parsed rules' cache (that may import tempfile): the second
    must not. Run without ``site`` (``-S``), whose .pth files may import anything first (this sandbox's do)."""
    import os
    import subprocess

    import tracer

    src = str(Path(tracer.__file__).parent.parent)
    path = os.pathsep.join([src, *(p for p in sys.path if p)])  # (what site would have added, without its .pth)
    code = (
        "import sys; import tracer.redact as r; r.record_redactor(); "
        "print(sorted(m for m in ('importlib.resources', 'tempfile', 'zipfile') if m in sys.modules))"
    )
    env = {**os.environ, "TRACER_CACHE_DIR": str(tmp_path), "PYTHONPATH": path}
    for _ in range(2):
        out = subprocess.run([sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_no_record_time_keyword_is_common_in_random_output() -> None:
    """A keyword runs its rule's regex where it occurs: one of base64's letters and digits shorter than 4 bytes
    occurs every few KiB of random output (``7z`` every 2 KiB), which made recording a flood of base64 twice as
    costly in CPU. Four bytes (``AKIA``, ``xoxb``) occur every ~16 MB; a space or punctuation never does."""
    alphabet = set((string.ascii_letters + string.digits + "+/").encode())
    short = [(rule.id, k) for rule in record_rules().rules for k in rule.keywords if len(k) < 4 and set(k) <= alphabet]
    assert short == []


def test_masking_a_secret_does_not_load_openssl() -> None:
    """A placeholder's number is keyed by a BLAKE2 digest of the secret: from CPython's own ``_blake2``, since
    importing :mod:`hashlib` loads OpenSSL's libcrypto (3.4 MB resident) into the recorder the first time a
    secret is masked in a command line."""
    code = (
        "import sys; from tracer.redact import record_redactor; r = record_redactor(); "
        f"assert r.text('export GITHUB_TOKEN=ghp_{rnd(36)}').endswith(':1]'); "
        "assert r.known; print('_hashlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stdout + done.stderr


def test_a_value_found_inside_an_escape_sequence_is_masked_but_not_learnt() -> None:
    """fish's window title shows the command cut short, then the directory (``ssh-keygen -q -p -P  /t/u/calc``): a
    rule takes the directory for the passphrase there, and learnt, it was masked in every later ``cd`` and prompt
    (in exports and the replay too). It is masked where found (a secret in a title is still a secret), not learnt;
    a value typed after a cursor move is learnt as ever."""
    r = record_redactor()
    out = r.output(b"\x1b]0;ssh-keygen -q -p -P  /t/u/calc\x07\r\n")
    assert b"/t/u/calc" not in out and r.known == {}
    assert r.output(b"$ cd /t/u/calc\r\n") == b"$ cd /t/u/calc\r\n"
    r.output(b"sshpass -p\x1b[29Cabcdef123456 ssh deploy@host\r\n")
    assert r.known == {b"abcdef123456": "cli-password-option"}
