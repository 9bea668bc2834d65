# The words of every mail and page the account functions send, in English: the reference
# that the other languages translate. Project Fluent syntax (https://projectfluent.org).
# One file per language, the same message ids in each. Variables are written { $name };
# they are filled in by the code and must stay in every translation.

## Shared lines

# Ends every notice: what to do if the change was not the reader's.
if-not-you = If you did not make this change, contact your administrator at once.

## The confirmation mail, sent to the account's current address when a new one is asked for.
## $login: the account's login name. $old_email, $new_email: addresses.
## $link: the confirmation link. $hours: how long the link works (a number, a fraction where
## the setting is not whole hours).

confirmation-mail-subject = Confirm the new email address of your account
confirmation-mail-text =
    Hello { $login },

    someone asked to change the email address of your account from
    { $old_email } to { $new_email }.

    To confirm the change, open this link within { $hours ->
        [one] { $hours } hour
       *[other] { $hours } hours
    } and press the button:

    { $link }

    If you did not ask for this, ignore this message: nothing changes.

## Notices: mails that tell the user that something changed on the account.
## $login: the account's login name. $at: when it happened, as 2026-12-04T12:00:00Z (UTC).

notice-password-subject = The password of your account was changed
notice-password-changed-text =
    Hello,

    the password of your account { $login } was changed at { $at } (UTC).

    { if-not-you }
notice-password-reset-text =
    Hello,

    the password of your account { $login } was changed by an administrator at { $at } (UTC).

    { if-not-you }

notice-email-subject = The email address of your account was changed
# To the old address. $new_email: the address the account has now.
notice-email-old-text =
    Hello,

    the email address of your account { $login } was changed at { $at } (UTC) from this
    address to { $new_email }. Mail about the account now goes there.

    { if-not-you }
# To the new address. $old_email: the address the account had before.
notice-email-new-text =
    Hello,

    this is now the email address of your account { $login }, since { $at } (UTC); it was
    { $old_email }.

    { if-not-you }

## The pages the confirmation link opens.

page-confirm-title = Confirm your new email address
page-confirm-text = Press the button to confirm the new email address of your account.
page-confirm-button = Confirm the new address

page-confirmed-title = Email address confirmed
page-confirmed-text = Your new email address is confirmed. You can close this page.

## The pages shown when the link cannot be used. Each has a title and one sentence.

# Any other failure.
page-error-title = Something went wrong
page-error-text = The address could not be confirmed. Try again later.

page-error-invalid-token-title = This link is not valid
page-error-invalid-token-text = The link is unknown, was already used, or was replaced by a newer request.

page-error-token-expired-title = This link has expired
page-error-token-expired-text = Ask for the change of address again to get a new link.

# The link's user id or form is malformed (for example a link cut short by a mail program).
page-error-validation-error-title = This link is not valid
page-error-validation-error-text = The link is incomplete. Open it again from the mail, whole.

page-error-not-found-title = No such account
page-error-not-found-text = The account this link was sent for does not exist.

page-error-account-disabled-title = The account is disabled
page-error-account-disabled-text = A disabled account cannot confirm a new address.

page-error-too-many-attempts-title = Too many attempts
page-error-too-many-attempts-text = Wait a moment, then try again.

page-error-unavailable-title = The service is temporarily unavailable
page-error-unavailable-text = Try again in a moment.
