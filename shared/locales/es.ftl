# Spanish (es) translation of the words of every mail and page the account functions send.
# en.ftl is the reference: the same message ids in the same order, the same variables.
# Register: formal "usted"; mails open with "Hola:" (or "Hola, { $login }:"), as in
# Spanish letters. Neutral Spanish: "correo electrónico", "haga clic".

## Shared lines

# Ends every notice: what to do if the change was not the reader's.
if-not-you =
    Si no ha realizado este cambio, póngase en contacto de inmediato con su
    administrador.

## The confirmation mail, sent to the account's current address when a new one is asked for.
## $login: the account's login name. $old_email, $new_email: addresses.
## $link: the confirmation link. $hours: how long the link works (a number, a fraction where
## the setting is not whole hours).

confirmation-mail-subject = Confirme la nueva dirección de correo electrónico de su cuenta
confirmation-mail-text =
    Hola, { $login }:

    Se ha solicitado cambiar la dirección de correo electrónico de su cuenta de
    { $old_email } a { $new_email }.

    Para confirmar el cambio, abra el siguiente enlace en un plazo
    de { $hours ->
        [one] { $hours } hora
       *[other] { $hours } horas
    } y haga clic en el botón:

    { $link }

    Si no ha solicitado este cambio, ignore este mensaje: no se modificará nada.

## Notices: mails that tell the user that something changed on the account.
## $login: the account's login name. $at: when it happened, as 2026-12-04T12:00:00Z (UTC).

notice-password-subject = Se ha cambiado la contraseña de su cuenta
notice-password-changed-text =
    Hola:

    La contraseña de su cuenta { $login } se cambió el { $at } (UTC).

    { if-not-you }
notice-password-reset-text =
    Hola:

    Un administrador cambió la contraseña de su cuenta { $login }
    el { $at } (UTC).

    { if-not-you }

notice-email-subject = Se ha cambiado la dirección de correo electrónico de su cuenta
# To the old address. $new_email: the address the account has now.
notice-email-old-text =
    Hola:

    La dirección de correo electrónico de su cuenta { $login } se cambió
    el { $at } (UTC) de esta dirección a { $new_email }.
    A partir de ahora, los mensajes relacionados con su cuenta se enviarán
    a la nueva dirección.

    { if-not-you }
# To the new address. $old_email: the address the account had before.
notice-email-new-text =
    Hola:

    Desde el { $at } (UTC), esta es la dirección de correo electrónico
    de su cuenta { $login }; la anterior era { $old_email }.

    { if-not-you }

## The pages the confirmation link opens.

page-confirm-title = Confirme su nueva dirección de correo electrónico
page-confirm-text = Haga clic en el botón para confirmar la nueva dirección de correo electrónico de su cuenta.
page-confirm-button = Confirmar la nueva dirección

page-confirmed-title = Dirección de correo electrónico confirmada
page-confirmed-text = Su nueva dirección de correo electrónico ha quedado confirmada. Ya puede cerrar esta página.

## The pages shown when the link cannot be used. Each has a title and one sentence.

# Any other failure.
page-error-title = Se ha producido un error
page-error-text = No se ha podido confirmar la dirección. Inténtelo de nuevo más tarde.

page-error-invalid-token-title = Este enlace no es válido
page-error-invalid-token-text = El enlace es desconocido, ya se ha utilizado o ha sido sustituido por una solicitud más reciente.

page-error-token-expired-title = Este enlace ha caducado
page-error-token-expired-text = Vuelva a solicitar el cambio de dirección para recibir un enlace nuevo.

# The link's user id or form is malformed (for example a link cut short by a mail program).
page-error-validation-error-title = Este enlace no es válido
page-error-validation-error-text = El enlace está incompleto. Vuelva a abrir el enlace completo desde el correo.

page-error-not-found-title = La cuenta no existe
page-error-not-found-text = La cuenta para la que se envió este enlace no existe.

page-error-account-disabled-title = La cuenta está desactivada
page-error-account-disabled-text = No se puede confirmar una nueva dirección para una cuenta desactivada.

page-error-too-many-attempts-title = Demasiados intentos
page-error-too-many-attempts-text = Espere un momento y vuelva a intentarlo.

page-error-unavailable-title = El servicio no está disponible temporalmente
page-error-unavailable-text = Vuelva a intentarlo en unos instantes.
