# French (fr) translation of the words of every mail and page the account functions send.
# en.ftl is the reference: the same message ids in the same order, the same variables.
# Register: formal "vous"; mails open with "Bonjour,". A no-break space (U+00A0) stands
# before ":" and ";" as French typography requires.

## Shared lines

# Ends every notice: what to do if the change was not the reader's.
if-not-you =
    Si vous n’êtes pas à l’origine de cette modification, contactez immédiatement
    votre administrateur.

## The confirmation mail, sent to the account's current address when a new one is asked for.
## $login: the account's login name. $old_email, $new_email: addresses.
## $link: the confirmation link. $hours: how long the link works (a number, a fraction where
## the setting is not whole hours).
## French plural rule: [one] covers 0 and 1.

confirmation-mail-subject = Confirmez la nouvelle adresse e-mail de votre compte
confirmation-mail-text =
    Bonjour { $login },

    Nous avons reçu une demande visant à remplacer l’adresse e-mail de votre
    compte, { $old_email }, par { $new_email }.

    Pour confirmer cette modification, ouvrez le lien suivant dans un délai
    de { $hours ->
        [one] { $hours } heure
       *[other] { $hours } heures
    }, puis cliquez sur le bouton :

    { $link }

    Si vous n’êtes pas à l’origine de cette demande, ignorez simplement ce
    message : rien ne sera modifié.

## Notices: mails that tell the user that something changed on the account.
## $login: the account's login name. $at: when it happened, as 2026-12-04T12:00:00Z (UTC).

notice-password-subject = Le mot de passe de votre compte a été modifié
notice-password-changed-text =
    Bonjour,

    Le mot de passe de votre compte { $login } a été modifié
    le { $at } (UTC).

    { if-not-you }
notice-password-reset-text =
    Bonjour,

    Le mot de passe de votre compte { $login } a été modifié par un administrateur
    le { $at } (UTC).

    { if-not-you }

notice-email-subject = L’adresse e-mail de votre compte a été modifiée
# To the old address. $new_email: the address the account has now.
notice-email-old-text =
    Bonjour,

    Le { $at } (UTC), l’adresse e-mail de votre compte { $login } a été
    modifiée : cette adresse a été remplacée par { $new_email }. Les messages
    concernant votre compte sont désormais envoyés à la nouvelle adresse.

    { if-not-you }
# To the new address. $old_email: the address the account had before.
notice-email-new-text =
    Bonjour,

    Depuis le { $at } (UTC), cette adresse est l’adresse e-mail
    de votre compte { $login } ; l’adresse précédente était { $old_email }.

    { if-not-you }

## The pages the confirmation link opens.

page-confirm-title = Confirmez votre nouvelle adresse e-mail
page-confirm-text = Cliquez sur le bouton pour confirmer la nouvelle adresse e-mail de votre compte.
page-confirm-button = Confirmer la nouvelle adresse

page-confirmed-title = Adresse e-mail confirmée
page-confirmed-text = Votre nouvelle adresse e-mail est confirmée. Vous pouvez fermer cette page.

## The pages shown when the link cannot be used. Each has a title and one sentence.

# Any other failure.
page-error-title = Une erreur s’est produite
page-error-text = L’adresse n’a pas pu être confirmée. Veuillez réessayer plus tard.

page-error-invalid-token-title = Ce lien n’est pas valide
page-error-invalid-token-text = Ce lien est inconnu, a déjà été utilisé ou a été remplacé par une demande plus récente.

page-error-token-expired-title = Ce lien a expiré
page-error-token-expired-text = Demandez à nouveau le changement d’adresse pour recevoir un nouveau lien.

# The link's user id or form is malformed (for example a link cut short by a mail program).
page-error-validation-error-title = Ce lien n’est pas valide
page-error-validation-error-text = Le lien est incomplet. Ouvrez à nouveau le lien complet depuis l’e-mail.

page-error-not-found-title = Compte introuvable
page-error-not-found-text = Le compte pour lequel ce lien a été envoyé n’existe pas.

page-error-account-disabled-title = Le compte est désactivé
page-error-account-disabled-text = Impossible de confirmer une nouvelle adresse pour un compte désactivé.

page-error-too-many-attempts-title = Trop de tentatives
page-error-too-many-attempts-text = Patientez quelques instants, puis réessayez.

page-error-unavailable-title = Le service est temporairement indisponible
page-error-unavailable-text = Veuillez réessayer dans quelques instants.
