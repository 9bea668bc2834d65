# Japanese (ja) translation of the words of every mail and page the account functions send.
# en.ftl is the reference: the same message ids in the same order, the same variables.
# Register: polite desu/masu form. The confirmation mail opens with "{ $login } 様";
# notices open with a short thank-you line. No plural forms: "{ $hours } 時間".
# Lines of the mails are not wrapped.

## Shared lines

# Ends every notice: what to do if the change was not the reader's.
if-not-you = この変更にお心当たりがない場合は、至急管理者にご連絡ください。

## The confirmation mail, sent to the account's current address when a new one is asked for.
## $login: the account's login name. $old_email, $new_email: addresses.
## $link: the confirmation link. $hours: how long the link works (a number, a fraction where
## the setting is not whole hours).

confirmation-mail-subject = アカウントの新しいメールアドレスをご確認ください
confirmation-mail-text =
    { $login } 様

    お使いのアカウントのメールアドレスを { $old_email } から { $new_email } に変更するリクエストがありました。

    変更を確定するには、{ $hours } 時間以内に以下のリンクを開き、表示されたページのボタンを押してください。

    { $link }

    このリクエストにお心当たりがない場合は、このメールを無視してください。メールアドレスは変更されません。

## Notices: mails that tell the user that something changed on the account.
## $login: the account's login name. $at: when it happened, as 2026-12-04T12:00:00Z (UTC).

notice-password-subject = アカウントのパスワードが変更されました
notice-password-changed-text =
    いつもご利用いただきありがとうございます。

    お使いのアカウント { $login } のパスワードが { $at }（UTC）に変更されました。

    { if-not-you }
notice-password-reset-text =
    いつもご利用いただきありがとうございます。

    お使いのアカウント { $login } のパスワードが { $at }（UTC）に管理者によって変更されました。

    { if-not-you }

notice-email-subject = アカウントのメールアドレスが変更されました
# To the old address. $new_email: the address the account has now.
notice-email-old-text =
    いつもご利用いただきありがとうございます。

    お使いのアカウント { $login } のメールアドレスが { $at }（UTC）に、このアドレスから { $new_email } に変更されました。今後、アカウントに関するメールは変更後のアドレスに送信されます。

    { if-not-you }
# To the new address. $old_email: the address the account had before.
notice-email-new-text =
    いつもご利用いただきありがとうございます。

    お使いのアカウント { $login } のメールアドレスは、{ $at }（UTC）にこのアドレスへ変更されました。変更前のアドレスは { $old_email } です。

    { if-not-you }

## The pages the confirmation link opens.

page-confirm-title = 新しいメールアドレスの確認
page-confirm-text = ボタンを押して、アカウントの新しいメールアドレスを確定してください。
page-confirm-button = 新しいアドレスを確定する

page-confirmed-title = メールアドレスの確認が完了しました
page-confirmed-text = 新しいメールアドレスが確定しました。このページは閉じていただいてかまいません。

## The pages shown when the link cannot be used. Each has a title and one sentence.

# Any other failure.
page-error-title = エラーが発生しました
page-error-text = メールアドレスを確定できませんでした。しばらくしてから、もう一度お試しください。

page-error-invalid-token-title = このリンクは無効です
page-error-invalid-token-text = このリンクは存在しないか、すでに使用されたか、より新しいリクエストによって置き換えられています。

page-error-token-expired-title = このリンクは有効期限が切れています
page-error-token-expired-text = 新しいリンクを受け取るには、メールアドレスの変更をもう一度リクエストしてください。

# The link's user id or form is malformed (for example a link cut short by a mail program).
page-error-validation-error-title = このリンクは無効です
page-error-validation-error-text = リンクが不完全です。メールに記載されたリンクを省略せずに、もう一度開いてください。

page-error-not-found-title = アカウントが見つかりません
page-error-not-found-text = このリンクの送信対象となったアカウントは存在しません。

page-error-account-disabled-title = このアカウントは無効になっています
page-error-account-disabled-text = 無効になっているアカウントでは、新しいメールアドレスを確定できません。

page-error-too-many-attempts-title = 試行回数が多すぎます
page-error-too-many-attempts-text = しばらく待ってから、もう一度お試しください。

page-error-unavailable-title = サービスは一時的にご利用いただけません
page-error-unavailable-text = しばらくしてから、もう一度お試しください。
