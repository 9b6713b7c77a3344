package auth

import (
	"fmt"
	"net/url"

	"whitecross"
)

// codeNotice is the email or text that carries a sign-in code. The code
// leads the text message, so a phone can offer to fill it in.
func codeNotice(channel whitecross.Channel, to string, user *whitecross.User, tenant *whitecross.Tenant, code string) *whitecross.Notice {
	n := &whitecross.Notice{Channel: channel, To: to}
	if user != nil {
		n.ToName, n.Locale = user.Name, user.Locale
	}
	minutes := int(whitecross.SigninCodeTTL.Minutes())
	if channel == whitecross.ChannelSMS {
		n.Text = fmt.Sprintf("%s is your %s sign-in code. It expires in %d minutes.", code, tenant.Name, minutes)
		return n
	}
	n.Subject = fmt.Sprintf("Your %s sign-in code: %s", tenant.Name, code)
	n.Text = fmt.Sprintf("Your sign-in code is %s\n\nEnter it on the sign-in page within %d minutes. "+
		"It works once.\n\nIf you did not ask for it, you can ignore this email: nobody can sign in without the code.\n",
		code, minutes)
	return n
}

// resetNotice is the email that carries a password reset link.
func resetNotice(to string, user *whitecross.User, tenant *whitecross.Tenant, publicURL, token string) *whitecross.Notice {
	n := &whitecross.Notice{Channel: whitecross.ChannelEmail, To: to,
		Subject: fmt.Sprintf("Reset your %s password", tenant.Name)}
	if user != nil {
		n.ToName, n.Locale = user.Name, user.Locale
	}
	link := publicURL + "/reset?token=" + url.QueryEscape(token)
	n.Text = fmt.Sprintf("To choose a new password, open this link within %d minutes:\n\n%s\n\n"+
		"The link works once. Setting a new password signs you out everywhere.\n\n"+
		"If you did not ask for this, ignore this email: your password stays as it is.\n",
		int(whitecross.PasswordResetTTL.Minutes()), link)
	return n
}
