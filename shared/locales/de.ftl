# German (de) translation of the words of every mail and page the account functions send.
# en.ftl is the reference: the same message ids in the same order, the same variables.
# Register: formal "Sie"; mails open with "Guten Tag," and continue in lower case.

## Shared lines

# Ends every notice: what to do if the change was not the reader's.
if-not-you =
    Wenn Sie diese Änderung nicht selbst vorgenommen haben, wenden Sie sich bitte
    umgehend an Ihren Administrator.

## The confirmation mail, sent to the account's current address when a new one is asked for.
## $login: the account's login name. $old_email, $new_email: addresses.
## $link: the confirmation link. $hours: how long the link works (a number, a fraction where
## the setting is not whole hours).

confirmation-mail-subject = Bestätigen Sie die neue E-Mail-Adresse Ihres Kontos
confirmation-mail-text =
    Guten Tag { $login },

    es wurde beantragt, die E-Mail-Adresse Ihres Kontos von
    { $old_email } in { $new_email } zu ändern.

    Um die Änderung zu bestätigen, öffnen Sie bitte den folgenden Link innerhalb
    von { $hours ->
        [one] { $hours } Stunde
       *[other] { $hours } Stunden
    } und klicken Sie dort auf die Schaltfläche:

    { $link }

    Wenn Sie dies nicht beantragt haben, ignorieren Sie diese Nachricht bitte.
    Ihre E-Mail-Adresse bleibt dann unverändert.

## Notices: mails that tell the user that something changed on the account.
## $login: the account's login name. $at: when it happened, as 2026-12-04T12:00:00Z (UTC).

notice-password-subject = Das Passwort Ihres Kontos wurde geändert
notice-password-changed-text =
    Guten Tag,

    das Passwort Ihres Kontos { $login } wurde am { $at } (UTC) geändert.

    { if-not-you }
notice-password-reset-text =
    Guten Tag,

    das Passwort Ihres Kontos { $login } wurde am { $at } (UTC) von einem
    Administrator geändert.

    { if-not-you }

notice-email-subject = Die E-Mail-Adresse Ihres Kontos wurde geändert
# To the old address. $new_email: the address the account has now.
notice-email-old-text =
    Guten Tag,

    die E-Mail-Adresse Ihres Kontos { $login } wurde am { $at } (UTC)
    von dieser Adresse in { $new_email } geändert. Nachrichten zu Ihrem Konto
    werden ab sofort an die neue Adresse gesendet.

    { if-not-you }
# To the new address. $old_email: the address the account had before.
notice-email-new-text =
    Guten Tag,

    diese Adresse ist seit { $at } (UTC) die E-Mail-Adresse Ihres
    Kontos { $login }; die bisherige Adresse war { $old_email }.

    { if-not-you }

## The pages the confirmation link opens.

page-confirm-title = Neue E-Mail-Adresse bestätigen
page-confirm-text = Klicken Sie auf die Schaltfläche, um die neue E-Mail-Adresse Ihres Kontos zu bestätigen.
page-confirm-button = Neue Adresse bestätigen

page-confirmed-title = E-Mail-Adresse bestätigt
page-confirmed-text = Ihre neue E-Mail-Adresse ist bestätigt. Sie können diese Seite jetzt schließen.

## The pages shown when the link cannot be used. Each has a title and one sentence.

# Any other failure.
page-error-title = Es ist ein Fehler aufgetreten
page-error-text = Die Adresse konnte nicht bestätigt werden. Bitte versuchen Sie es später erneut.

page-error-invalid-token-title = Dieser Link ist ungültig
page-error-invalid-token-text = Der Link ist unbekannt, wurde bereits verwendet oder wurde durch eine neuere Anfrage ersetzt.

page-error-token-expired-title = Dieser Link ist abgelaufen
page-error-token-expired-text = Beantragen Sie die Änderung der Adresse erneut, um einen neuen Link zu erhalten.

# The link's user id or form is malformed (for example a link cut short by a mail program).
page-error-validation-error-title = Dieser Link ist ungültig
page-error-validation-error-text = Der Link ist unvollständig. Bitte öffnen Sie den vollständigen Link aus der E-Mail erneut.

page-error-not-found-title = Konto nicht gefunden
page-error-not-found-text = Das Konto, für das dieser Link gesendet wurde, existiert nicht.

page-error-account-disabled-title = Das Konto ist deaktiviert
page-error-account-disabled-text = Für ein deaktiviertes Konto kann keine neue Adresse bestätigt werden.

page-error-too-many-attempts-title = Zu viele Versuche
page-error-too-many-attempts-text = Bitte warten Sie einen Moment und versuchen Sie es dann erneut.

page-error-unavailable-title = Der Dienst ist vorübergehend nicht verfügbar
page-error-unavailable-text = Bitte versuchen Sie es in Kürze erneut.
